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
  path['leader receive'] = receive.atMs;
  const propose = ledger.first(sentAt, is('propose', { node: leader, index }));
  path.propose = propose?.atMs;
  path[LEADER_PERSIST] = ledger.first(sentAt, is('persist', { node: leader, indexMin: index }))?.atMs;
  const ack = ledger.first(sentAt, is('ack.received', { node: leader, indexMin: index }));
  if (ack !== undefined) {
    const follower = ack.peer;
    path['append queued (first follower)'] = ledger.first(
      sentAt,
      is('append.queued', { node: leader, peer: follower, indexMin: index }),
    )?.atMs;
    path['append written to the stream'] = ledger.first(
      sentAt,
      is('append.written', { node: leader, peer: follower, indexMin: index }),
    )?.atMs;
    path['follower receive'] = ledger.first(
      sentAt,
      is('append.received', { node: follower, peer: leader, indexMin: index }),
    )?.atMs;
    path['follower persisted'] = ledger.first(
      sentAt,
      is('persist', { node: follower, indexMin: index }),
    )?.atMs;
    path['ack received'] = ack.atMs;
  }
  path.commit = ledger.first(sentAt, is('commit', { node: leader, indexMin: index }))?.atMs;
  path.apply = ledger.first(sentAt, is('apply', { node: leader, index }))?.atMs;
  path['answer sent'] = answer.atMs;
  return path;
}

/** TRANSFER_STEPS are the steps of one planned transfer, in order; each is measured from the one before. */
export const TRANSFER_STEPS = [
  'request sent',
  'leader takes the request',
  'TimeoutNow written (after catch-up)',
  'TimeoutNow received',
  'vote requests written (term and vote persisted)',
  'vote request received',
  'vote answer written (vote persisted)',
  'vote granted received',
  'became leader',
  'first append written',
  'first commit',
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
  path['leader takes the request'] = ledger.first(
    requestedAt,
    is('transfer.request', { node: from, peer: to }),
  )?.atMs;
  path['TimeoutNow written (after catch-up)'] = ledger.first(
    requestedAt,
    is('timeoutNow.written', { node: from, peer: to }),
  )?.atMs;
  path['TimeoutNow received'] = ledger.first(
    requestedAt,
    is('timeoutNow.received', { node: to, peer: from }),
  )?.atMs;
  path['vote requests written (term and vote persisted)'] = ledger.first(
    requestedAt,
    is('vote.written', { node: to, term }),
  )?.atMs;
  const granted = ledger.first(requestedAt, is('vote.granted', { node: to, term }));
  if (granted !== undefined) {
    const voter = granted.peer;
    path['vote request received'] = ledger.first(
      requestedAt,
      is('vote.received', { node: voter, peer: to, term }),
    )?.atMs;
    path['vote answer written (vote persisted)'] = ledger.first(
      requestedAt,
      is('vote.answered', { node: voter, peer: to, term }),
    )?.atMs;
    path['vote granted received'] = granted.atMs;
  }
  const leaderAt = ledger.first(requestedAt, is('leader', { node: to, term }))?.atMs;
  path['became leader'] = leaderAt;
  if (leaderAt !== undefined) {
    path['first append written'] = ledger.first(leaderAt, is('append.written', { node: to, term }))?.atMs;
    path['first commit'] = ledger.first(leaderAt, is('commit', { node: to, term }))?.atMs;
  }
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
