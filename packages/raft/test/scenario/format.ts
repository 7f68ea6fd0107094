import type {
  Entry,
  HardState,
  Membership,
  Message,
  RaftStatus,
  Ready,
  Snapshot,
} from '../../src/core/index';

const decoder = new TextDecoder();

/** nodeName prints NONE as `-`. */
export function nodeName(id: string): string {
  return id === '' ? '-' : id;
}

/** formatEntry prints `index/term kind`, e.g. `2/1 cmd:x=1` or `3/1 conf:addLearner(n4)`. */
export function formatEntry(e: Entry): string {
  const head = `${e.index}/${e.term}`;
  switch (e.kind) {
    case 'noop':
      return `${head} noop`;
    case 'command':
      return `${head} cmd:${decoder.decode(e.data)}`;
    case 'config':
      return `${head} conf:${e.change.type}(${e.change.node})`;
  }
}

/** formatEntries prints a list of entries in brackets. */
export function formatEntries(entries: readonly Entry[]): string {
  return `[${entries.map(formatEntry).join(', ')}]`;
}

/** formatMembership prints `voters=[..] learners=[..]`. */
export function formatMembership(m: Membership): string {
  return `voters=[${m.voters.join(',')}] learners=[${m.learners.join(',')}]`;
}

/** formatSnapshot prints a snapshot's index, term and membership. */
export function formatSnapshot(s: Snapshot): string {
  return `(${s.meta.index},${s.meta.term}) ${formatMembership(s.meta.membership)}`;
}

/** formatHardState prints `term=.. vote=.. commit=..`. */
export function formatHardState(h: HardState): string {
  return `term=${h.term} vote=${nodeName(h.vote)} commit=${h.commit}`;
}

/** formatMessage prints a message on one line, e.g. `n1->n2 append term=1 prev=(0,0) entries=[1/1 noop] commit=0`. */
export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return `${head} last=(${m.lastLogIndex},${m.lastLogTerm}) reason=${m.reason}`;
    case 'preVoteResponse':
    case 'voteResponse':
      return `${head} ${m.reject ? 'reject' : 'grant'}`;
    case 'append':
      return `${head} prev=(${m.prevLogIndex},${m.prevLogTerm}) entries=${formatEntries(m.entries)} commit=${m.commit}`;
    case 'appendResponse':
      return m.reject
        ? `${head} reject index=${m.index} hint=(${m.hintIndex},${m.hintTerm})`
        : `${head} index=${m.index}`;
    case 'heartbeat':
      return `${head} commit=${m.commit} read=${m.readSeq}`;
    case 'heartbeatResponse':
      return `${head} read=${m.readSeq}`;
    case 'snapshot':
      return `${head} snap=${formatSnapshot(m.snapshot)}`;
    case 'timeoutNow':
      return head;
  }
}

/** formatReady prints the parts of a Ready that are present, one per indented line. */
export function formatReady(id: string, rd: Ready): string[] {
  const out = [`${id} ready`];
  if (rd.softState !== undefined) {
    out.push(`  role=${rd.softState.role} leader=${nodeName(rd.softState.leader)}`);
  }
  if (rd.hardState !== undefined) out.push(`  hard ${formatHardState(rd.hardState)}`);
  if (rd.snapshot !== undefined) out.push(`  snapshot ${formatSnapshot(rd.snapshot)}`);
  if (rd.entries.length > 0) out.push(`  persist ${formatEntries(rd.entries)}`);
  if (rd.committedEntries.length > 0) out.push(`  apply ${formatEntries(rd.committedEntries)}`);
  if (rd.readStates.length > 0) {
    out.push(`  read ${rd.readStates.map((r) => `${r.requestId}@${r.index}`).join(' ')}`);
  }
  if (rd.earlyMessages.length > 0 || rd.messages.length > 0) {
    out.push(`  send early=${rd.earlyMessages.length} after-persist=${rd.messages.length}`);
  }
  return out;
}

/** formatStatus prints a core's status: a head line, its membership and, on a leader, one line per member. */
export function formatStatus(s: RaftStatus): string[] {
  const out = [
    `${s.id} ${s.role} term=${s.term} vote=${nodeName(s.vote)} leader=${nodeName(s.leader)} ` +
      `commit=${s.commit} applied=${s.applied} log=[${s.firstIndex},${s.lastIndex}]` +
      (s.transferee === '' ? '' : ` transferee=${s.transferee}`),
    `  ${formatMembership(s.membership)}`,
  ];
  for (const id of Object.keys(s.progress).sort()) {
    const p = s.progress[id]!;
    out.push(`  progress ${id} match=${p.match} next=${p.next} ${p.state}`);
  }
  return out;
}
