import type { NodeId } from '../core/index';
import type { WireMessage } from './wire';

/**
 * HOP_STEPS are the points of a write's and a planned transfer's path that the hop ledger can
 * record, in path order:
 * - `server.receive` / `server.answer`: the leadership service took the command / answered it
 *   (tag: the command's correlation id; `server.answer` carries the applied index);
 * - `forward.sent` / `forward.relayed`: a follower handed the call to the leader `peer` / relayed
 *   the leader's answer to its client (tag: the call's correlation id, if it has one);
 * - `propose`: the entry was appended to the leader's core (index, term);
 * - `persist`: a node's synced write of its log ended (index: the last entry written);
 * - `append.queued` / `append.written`: an append to `peer` was handed to the transport / written
 *   to that peer's gRPC stream (index: its last entry; term: the leader's);
 * - `append.received`: a follower took an append from `peer` (index: its last entry);
 * - `ack.received`: the leader took an acknowledgement from `peer` (index: what it matches);
 * - `commit`: a node was handed newly committed entries to apply (index and term of the last);
 * - `apply`: a node applied the entry at index;
 * - `transfer.request`: the leader was asked to hand over to `peer`;
 * - `timeoutNow.written` / `timeoutNow.received`: the TimeoutNow to (from) `peer`;
 * - `vote.written`: a candidate wrote its vote request to `peer` (after persisting its term and vote);
 * - `vote.received` / `vote.answered`: a voter took the request from `peer` / wrote its answer;
 * - `vote.granted`: the candidate took a grant from `peer`;
 * - `leader`: the node became leader of `term`;
 * - `peer.lost`: the transport saw the connection to or from `peer` fail (a reset, as when its
 *   process dies; term: the node's);
 * - `leader.unreachable`: that peer was the leader this follower followed, so it will campaign
 *   after the fast-failover delay (term: the node's);
 * - `preVote.written`: a node wrote its pre-vote request to `peer` (term: the would-be term);
 * - `preVote.granted`: the node took a pre-vote grant from `peer`;
 * - `drained`: the ledger was just drained for `node` (the first record after a drain: the CPU
 *   figures the next records are compared with when the node recorded nothing else before them).
 */
export const HOP_STEPS = [
  'server.receive',
  'forward.sent',
  'forward.relayed',
  'propose',
  'persist',
  'append.queued',
  'append.written',
  'append.received',
  'ack.received',
  'commit',
  'apply',
  'server.answer',
  'transfer.request',
  'timeoutNow.written',
  'timeoutNow.received',
  'vote.written',
  'vote.received',
  'vote.answered',
  'vote.granted',
  'leader',
  'peer.lost',
  'leader.unreachable',
  'preVote.written',
  'preVote.granted',
  'drained',
] as const;

/** HopStep is one of HOP_STEPS. */
export type HopStep = (typeof HOP_STEPS)[number];

/**
 * HopRecord is one recorded step: `atMs` is `performance.timeOrigin + performance.now()` (monotonic
 * within the process, and comparable across processes on one host); index, term, peer and tag are
 * 0 or '' where the step has none. `cpuMs` and `cpuWaitMs` are how long the recording process's
 * event-loop thread has so far been on a CPU and been ready to run but waiting for one (Linux's
 * schedstat; absent where the system does not say): between two records of one process, their
 * differences split the time into its own work, the wait for a CPU, and the rest (idle, or blocked).
 */
export interface HopRecord {
  readonly step: HopStep;
  readonly atMs: number;
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly peer: NodeId;
  readonly tag: string;
  readonly cpuMs?: number;
  readonly cpuWaitMs?: number;
}

/**
 * HOP_LEDGER_RECORDS_MAX bounds what the ledger holds between two drains; past it new records are
 * counted as dropped, so a ledger nobody reads cannot grow without end.
 */
export const HOP_LEDGER_RECORDS_MAX = 200_000;

/**
 * HopLedger records, when enabled, the monotonic time of each step of a write's and a transfer's
 * path through this process (debug instrumentation, off by default). Off, it costs each call site
 * one boolean check: callers test `enabled` before calling `record`, so no argument is built.
 * Records accumulate (at most HOP_LEDGER_RECORDS_MAX) until `drain` hands them over.
 */
export class HopLedger {
  /** enabled is true once `enable` was called; call sites test it before calling `record`. */
  enabled = false;
  private records: HopRecord[] = [];
  private droppedCount = 0;
  /** cpu reads the event-loop thread's [on a CPU, waiting for one] ms so far (records are made on that thread). */
  private cpu: () => readonly [number, number] | undefined = () => undefined;

  /**
   * enable starts recording (there is no way back: the ledger is for one debugging process);
   * `cpu`, when given, stamps every record with the thread's CPU figures (the runtime's schedstat
   * reader, which this layer cannot import).
   */
  enable(cpu?: () => readonly [number, number] | undefined): void {
    this.enabled = true;
    if (cpu !== undefined) this.cpu = cpu;
  }

  /** record notes that `step` happened now on `node`; see HOP_STEPS for what the other arguments mean per step. */
  record(step: HopStep, node: NodeId, index: number, term: number, peer: NodeId = '', tag = ''): void {
    if (!this.enabled) return;
    if (this.records.length >= HOP_LEDGER_RECORDS_MAX) {
      this.droppedCount++;
      return;
    }
    const atMs = performance.timeOrigin + performance.now();
    const cpu = this.cpu();
    this.records.push(
      cpu === undefined
        ? { step, atMs, node, index, term, peer, tag }
        : { step, atMs, node, index, term, peer, tag, cpuMs: cpu[0], cpuWaitMs: cpu[1] },
    );
  }

  /**
   * drain hands over every record since the last drain, and how many were dropped meanwhile; with
   * `node`, the next batch starts with a `drained` record of that node.
   */
  drain(node?: NodeId): { readonly records: readonly HopRecord[]; readonly dropped: number } {
    const out = { records: this.records, dropped: this.droppedCount };
    this.records = [];
    this.droppedCount = 0;
    if (node !== undefined) this.record('drained', node, 0, 0);
    return out;
  }
}

/** hopLedger is this process's ledger; every Raft node of the process records into it, each under its id. */
export const hopLedger = new HopLedger();

/**
 * recordWireHops records, for messages written to (`direction` 'written') or taken from
 * ('received') peer `peer`'s stream by `node`, the steps they mark: appends with entries, their
 * acknowledgements, TimeoutNow, pre-votes and votes. Call it only when `hopLedger.enabled`.
 */
export function recordWireHops(
  direction: 'written' | 'received',
  node: NodeId,
  peer: NodeId,
  messages: readonly WireMessage[],
): void {
  for (const w of messages) {
    const step = wireHopStep(direction, w);
    if (step === undefined) continue;
    const index = w.type === 'append' ? (w.entries[w.entries.length - 1]?.index ?? 0) : w.index;
    hopLedger.record(step, node, index, w.term, peer);
  }
}

function wireHopStep(direction: 'written' | 'received', w: WireMessage): HopStep | undefined {
  const written = direction === 'written';
  switch (w.type) {
    case 'append':
      if (w.entries.length === 0) return undefined;
      return written ? 'append.written' : 'append.received';
    case 'appendResponse':
      return written || w.reject ? undefined : 'ack.received';
    case 'timeoutNow':
      return written ? 'timeoutNow.written' : 'timeoutNow.received';
    case 'vote':
      return written ? 'vote.written' : 'vote.received';
    case 'voteResponse':
      if (written) return 'vote.answered';
      return w.reject ? undefined : 'vote.granted';
    case 'preVote':
      return written ? 'preVote.written' : undefined;
    case 'preVoteResponse':
      return written || w.reject ? undefined : 'preVote.granted';
    default:
      return undefined;
  }
}
