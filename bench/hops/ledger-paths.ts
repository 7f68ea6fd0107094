/**
 * Reading the hop ledger: from the records of every node (GET /debug/hops) and the bench's own
 * send and receive times, the time of each step of one write's path and of one transfer's path.
 * Every time is `performance.timeOrigin + performance.now()` of its process (comparable across
 * processes on one host).
 */
import type { HopRecord, HopStep } from '@omnirelay/raft';

/** Ledger is every record drained from every node, in time order. */
export class Ledger {
  private readonly records: HopRecord[] = [];

  /** add takes a drained batch (any order). */
  add(records: readonly HopRecord[]): void {
    this.records.push(...records);
    this.records.sort((a, b) => a.atMs - b.atMs);
  }

  /** all is every record, in time order. */
  all(): readonly HopRecord[] {
    return this.records;
  }

  /** size is how many records the ledger holds. */
  get size(): number {
    return this.records.length;
  }

  /** first is the earliest record at or after `afterMs` that matches `test`. */
  first(afterMs: number, test: (r: HopRecord) => boolean): HopRecord | undefined {
    for (const r of this.records) if (r.atMs >= afterMs && test(r)) return r;
    return undefined;
  }

  /** at is the record made at exactly `atMs` (a path's step time comes from one), if any. */
  at(atMs: number): HopRecord | undefined {
    return this.records.find((r) => r.atMs === atMs);
  }

  /** lastWithCpu is `node`'s latest record at or before `atMs` that carries CPU figures. */
  lastWithCpu(node: string, atMs: number): HopRecord | undefined {
    let last: HopRecord | undefined;
    for (const r of this.records) {
      if (r.atMs > atMs) break;
      if (r.node === node && r.cpuMs !== undefined && r.cpuWaitMs !== undefined) last = r;
    }
    return last;
  }
}

/**
 * StepCpu is what the process that ends a step did while it lasted, from its event-loop thread's
 * schedstat: ms on a CPU and ms ready to run but waiting for one, over `windowMs` — from that
 * process's last record at or before the step began (at least the step; longer when the process
 * recorded nothing near the step's start) to the step's end. The rest of the window it was idle or
 * blocked.
 */
export interface StepCpu {
  readonly onCpuMs: number;
  readonly waitMs: number;
  readonly windowMs: number;
}

/**
 * stepCpu finds, for each step of `path` that ends at a node's record, that node's StepCpu (steps
 * the bench timed itself, or whose node recorded no CPU figures before the step began, have none).
 */
export function stepCpu<K extends string>(
  ledger: Ledger,
  steps: readonly K[],
  path: Partial<Record<K, number | undefined>>,
): Partial<Record<K, StepCpu>> {
  const out: Partial<Record<K, StepCpu>> = {};
  for (let i = 1; i < steps.length; i++) {
    const began = path[steps[i - 1]!];
    const ended = path[steps[i]!];
    if (began === undefined || ended === undefined) continue;
    const end = ledger.at(ended);
    if (end?.cpuMs === undefined || end.cpuWaitMs === undefined) continue;
    const start = ledger.lastWithCpu(end.node, began);
    if (start === undefined) continue;
    out[steps[i]!] = {
      onCpuMs: end.cpuMs - start.cpuMs!,
      waitMs: end.cpuWaitMs - start.cpuWaitMs!,
      windowMs: ended - start.atMs,
    };
  }
  return out;
}

/**
 * drainHopLedgers reads and empties every member's hop ledger (`GET /debug/hops` through `get`)
 * into `ledger`, and answers how many records the members dropped since their last drain.
 */
export async function drainHopLedgers(
  members: readonly string[],
  get: (member: string, path: string) => Promise<{ status: number; body: unknown }>,
  ledger: Ledger,
): Promise<number> {
  let dropped = 0;
  for (const member of members) {
    const reply = await get(member, '/debug/hops');
    if (reply.status !== 200) throw new Error(`GET /debug/hops on ${member}: HTTP ${reply.status}`);
    const body = reply.body as { records: HopRecord[]; dropped: number };
    ledger.add(body.records);
    dropped += body.dropped;
  }
  return dropped;
}

/** is matches a record by step and, where given, node, peer, tag, term and a least index. */
function is(
  step: HopStep,
  where: { node?: string; peer?: string; tag?: string; term?: number; indexMin?: number; index?: number },
): (r: HopRecord) => boolean {
  return (r) =>
    r.step === step &&
    (where.node === undefined || r.node === where.node) &&
    (where.peer === undefined || r.peer === where.peer) &&
    (where.tag === undefined || r.tag === where.tag) &&
    (where.term === undefined || r.term === where.term) &&
    (where.index === undefined || r.index === where.index) &&
    (where.indexMin === undefined || r.index >= where.indexMin);
}

/** WRITE_STEPS are the steps of one write's path, in order; each is measured from the one before. */
export const WRITE_STEPS = [
  'client send',
  'leader receive',
  'propose',
  'append queued (first follower)',
  'append written to the stream',
  'follower receive',
  'follower persisted',
  'ack received',
  'commit',
  'apply',
  'answer sent',
  'client receive',
] as const;

/** LEADER_PERSIST is the leader's own synced write, measured from `propose` (it overlaps the follower's path). */
export const LEADER_PERSIST = 'leader persisted (from propose)';

/** WritePath is the time of each step of one write (undefined where the ledger had none). */
export type WritePath = Partial<
  Record<(typeof WRITE_STEPS)[number] | typeof LEADER_PERSIST, number | undefined>
>;

/**
 * writePath finds one write's steps: the write carried correlation id `tag`, was sent at
 * `sentAt` and answered at `receivedAt`. The follower shown is the one whose acknowledgement the
 * leader took first (with three members, the one that made the quorum).
 */
export function writePath(ledger: Ledger, tag: string, sentAt: number, receivedAt: number): WritePath {
  const path: WritePath = { 'client send': sentAt, 'client receive': receivedAt };
  const answer = ledger.first(sentAt, is('server.answer', { tag }));
  const receive = ledger.first(sentAt, is('server.receive', { tag }));
  if (answer === undefined || receive === undefined) return path;
  const leader = answer.node;
  const index = answer.index;
  /** at is when `step` first happened after the send, on `node` (and from or to `peer`), for index ≥ the write's. */
  const at = (step: HopStep, node: string, peer?: string): number | undefined =>
    ledger.first(sentAt, is(step, { node, indexMin: index, ...(peer === undefined ? {} : { peer }) }))?.atMs;
  path['leader receive'] = receive.atMs;
  path.propose = ledger.first(sentAt, is('propose', { node: leader, index }))?.atMs;
  path[LEADER_PERSIST] = at('persist', leader);
  const ack = ledger.first(sentAt, is('ack.received', { node: leader, indexMin: index }));
  if (ack !== undefined) {
    const follower = ack.peer;
    path['append queued (first follower)'] = at('append.queued', leader, follower);
    path['append written to the stream'] = at('append.written', leader, follower);
    path['follower receive'] = at('append.received', follower, leader);
    path['follower persisted'] = at('persist', follower);
    path['ack received'] = ack.atMs;
  }
  path.commit = at('commit', leader);
  path.apply = ledger.first(sentAt, is('apply', { node: leader, index }))?.atMs;
  path['answer sent'] = answer.atMs;
  return path;
}

/** ELECTION_STEPS are the steps of a vote round and a new leader's first commit, shared by transfers and crashes. */
const ELECTION_STEPS = [
  'vote requests written (term and vote persisted)',
  'vote request received',
  'vote answer written (vote persisted)',
  'vote granted received',
  'became leader',
  'first append written',
  'first commit',
] as const;

/** ElectionStep is one of ELECTION_STEPS. */
type ElectionStep = (typeof ELECTION_STEPS)[number];

/**
 * electionSteps finds, after `after`, the vote round by which `candidate` became leader of `term`
 * (with the voter whose grant came first) and its first append and commit in that term.
 */
function electionSteps(
  ledger: Ledger,
  candidate: string,
  term: number,
  after: number,
): Partial<Record<ElectionStep, number | undefined>> {
  const at = (step: HopStep, where: Parameters<typeof is>[1], from = after): number | undefined =>
    ledger.first(from, is(step, where))?.atMs;
  const out: Partial<Record<ElectionStep, number | undefined>> = {
    'vote requests written (term and vote persisted)': at('vote.written', { node: candidate, term }),
  };
  const granted = ledger.first(after, is('vote.granted', { node: candidate, term }));
  if (granted !== undefined) {
    const voter = granted.peer;
    out['vote request received'] = at('vote.received', { node: voter, peer: candidate, term });
    out['vote answer written (vote persisted)'] = at('vote.answered', { node: voter, peer: candidate, term });
    out['vote granted received'] = granted.atMs;
  }
  const leaderAt = at('leader', { node: candidate, term });
  out['became leader'] = leaderAt;
  if (leaderAt !== undefined) {
    out['first append written'] = at('append.written', { node: candidate, term }, leaderAt);
    out['first commit'] = at('commit', { node: candidate, term }, leaderAt);
  }
  return out;
}

/** TRANSFER_STEPS are the steps of one planned transfer, in order; each is measured from the one before. */
export const TRANSFER_STEPS = [
  'request sent',
  'leader takes the request',
  'TimeoutNow written (after catch-up)',
  'TimeoutNow received',
  ...ELECTION_STEPS,
  'first new-term write acknowledged',
] as const;

/** TransferPath is the time of each step of one transfer (undefined where the ledger had none). */
export type TransferPath = Partial<Record<(typeof TRANSFER_STEPS)[number], number | undefined>>;

/**
 * transferPath finds one transfer's steps: requested of `from` at `requestedAt` for `to`,
 * which led term `term`; `ackAt` is when the first write of a later term was acknowledged.
 */
export function transferPath(
  ledger: Ledger,
  from: string,
  to: string,
  term: number,
  requestedAt: number,
  ackAt: number,
): TransferPath {
  const path: TransferPath = { 'request sent': requestedAt, 'first new-term write acknowledged': ackAt };
  /** at is when `step` first happened after `after` (default: the request), as `where` says. */
  const at = (step: HopStep, where: Parameters<typeof is>[1], after = requestedAt): number | undefined =>
    ledger.first(after, is(step, where))?.atMs;
  path['leader takes the request'] = at('transfer.request', { node: from, peer: to });
  path['TimeoutNow written (after catch-up)'] = at('timeoutNow.written', { node: from, peer: to });
  path['TimeoutNow received'] = at('timeoutNow.received', { node: to, peer: from });
  Object.assign(path, electionSteps(ledger, to, term, requestedAt));
  return path;
}

/**
 * stepDurations turns a path into each step's duration from the step before it (the first step
 * is 0); a step or its predecessor missing gives undefined.
 */
export function stepDurations<K extends string>(
  steps: readonly K[],
  path: Partial<Record<K, number | undefined>>,
): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (let i = 1; i < steps.length; i++) {
    const at = path[steps[i]!];
    const before = path[steps[i - 1]!];
    if (at !== undefined && before !== undefined) out[steps[i]!] = at - before;
  }
  return out;
}

/** CRASH_STEPS are the steps of one crash failover (kill -9 of the leader), in order; each is measured from the one before. */
export const CRASH_STEPS = [
  'kill sent',
  'leader connection lost (new leader)',
  'leader unreachable (fast failover)',
  'pre-vote requests written',
  'pre-vote granted received',
  ...ELECTION_STEPS,
  'first probe write answered',
  'first write acknowledged',
] as const;

/** CrashPath is the time of each step of one crash failover (undefined where the ledger had none). */
export type CrashPath = Partial<Record<(typeof CRASH_STEPS)[number], number | undefined>> & {
  /** winner is the member that became leader of `term`, when the ledger names one. */
  readonly winner?: string;
};

/**
 * crashPath rebuilds one crash failover from the ledger: `killed` (the old leader) was sent
 * SIGKILL at `killedAt`, and the first acknowledged probe write, of Raft term `term`, came back at
 * `ackAt`. The steps are those of the member that became leader of `term` (its pre-votes, its vote
 * round with the voter whose grant came first, its first append and commit), then the first
 * probe write it answered in that term.
 */
export function crashPath(
  ledger: Ledger,
  killed: string,
  term: number,
  killedAt: number,
  ackAt: number,
): CrashPath {
  const base = { 'kill sent': killedAt, 'first write acknowledged': ackAt };
  const winner = ledger.first(killedAt, is('leader', { term }))?.node;
  if (winner === undefined) return base;
  const path: Partial<Record<(typeof CRASH_STEPS)[number], number | undefined>> = { ...base };
  const at = (step: HopStep, where: Parameters<typeof is>[1], after = killedAt): number | undefined =>
    ledger.first(after, is(step, where))?.atMs;
  path['leader connection lost (new leader)'] = at('peer.lost', { node: winner, peer: killed });
  path['leader unreachable (fast failover)'] = at('leader.unreachable', { node: winner, peer: killed });
  path['pre-vote requests written'] = at('preVote.written', { node: winner, term });
  path['pre-vote granted received'] = at('preVote.granted', { node: winner, term });
  const election = electionSteps(ledger, winner, term, killedAt);
  Object.assign(path, election);
  const leaderAt = election['became leader'];
  if (leaderAt !== undefined) {
    path['first probe write answered'] = at('server.answer', { node: winner, term }, leaderAt);
  }
  return { ...path, winner };
}

/**
 * ProbeTrace is where one tagged probe write went, from the ledger: when it first reached a
 * node's leadership service, when it reached the member that answered it, and the answer.
 */
export interface ProbeTrace {
  readonly firstReceive?: number;
  /** forwardSent is when the first node handed it to the leader (absent when it was sent there directly). */
  readonly forwardSent?: number;
  readonly leaderReceive?: number;
  readonly answer?: number;
  /** relayed is when the forwarding node relayed the leader's answer to the client. */
  readonly relayed?: number;
}

/** probeTrace finds the records of the probe write tagged `tag`, sent at `sentAt`, answered by `leader`. */
export function probeTrace(ledger: Ledger, tag: string, sentAt: number, leader: string): ProbeTrace {
  const firstReceive = ledger.first(sentAt, is('server.receive', { tag }))?.atMs;
  const leaderReceive = ledger.first(sentAt, is('server.receive', { tag, node: leader }))?.atMs;
  const answer = ledger.first(sentAt, is('server.answer', { tag, node: leader }))?.atMs;
  const forwardSent = ledger.first(sentAt, is('forward.sent', { tag, peer: leader }))?.atMs;
  const relayed = ledger.first(sentAt, is('forward.relayed', { tag, peer: leader }))?.atMs;
  return {
    ...(firstReceive === undefined ? {} : { firstReceive }),
    ...(forwardSent === undefined ? {} : { forwardSent }),
    ...(leaderReceive === undefined ? {} : { leaderReceive }),
    ...(answer === undefined ? {} : { answer }),
    ...(relayed === undefined ? {} : { relayed }),
  };
}
