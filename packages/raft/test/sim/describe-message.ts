import type { Message } from '../../src/core/index';

/** describeMessage renders a Raft message in one short, readable line for traces. */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return `${head} last ${m.lastLogIndex}@${m.lastLogTerm} (${m.reason})`;
    case 'preVoteResponse':
    case 'voteResponse':
      return `${head} ${m.reject ? 'reject' : 'grant'}`;
    case 'append': {
      const span =
        m.entries.length === 0
          ? 'no entries'
          : `entries ${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}`;
      return `${head} prev ${m.prevLogIndex}@${m.prevLogTerm} ${span} commit ${m.commit}`;
    }
    case 'appendResponse':
      return m.reject
        ? `${head} reject ${m.index} hint ${m.hintIndex}@${m.hintTerm}`
        : `${head} ok ${m.index}`;
    case 'heartbeat':
      return `${head} commit ${m.commit} read ${m.readSeq}`;
    case 'heartbeatResponse':
      return `${head} read ${m.readSeq}`;
    case 'snapshot':
      return `${head} snapshot ${m.snapshot.meta.index}@${m.snapshot.meta.term} voters [${m.snapshot.meta.membership.voters.join(',')}]`;
    case 'timeoutNow':
      return head;
  }
}
