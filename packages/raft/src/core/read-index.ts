import type { ReadState } from './types';

interface PendingRead {
  readonly requestId: string;
  readonly index: number;
  /** seq is the heartbeat round that must be acknowledged by a quorum before the read is served. */
  readonly seq: number;
}

/**
 * ReadIndexQueue holds a leader's linearizable reads (§6.4). A read records the commit index
 * when it arrives and waits for a quorum to acknowledge a heartbeat round sent after it; reads
 * that arrive before the leader committed an entry of its term wait for that first.
 * Rounds are batched: all reads that arrive between two Readys share one heartbeat round.
 */
export class ReadIndexQueue {
  /** seq is the newest heartbeat round sent. */
  private seq = 0;
  private roundPending = false;
  private pending: PendingRead[] = [];
  private awaitingCommit: string[] = [];
  private confirmed: ReadState[] = [];

  /** size is the number of reads not yet released. */
  get size(): number {
    return this.pending.length + this.awaitingCommit.length;
  }

  /** currentSeq is the newest round sent; heartbeats carry it. */
  get currentSeq(): number {
    return this.seq;
  }

  /** awaitCommit parks a read until the leader has committed an entry of its term. */
  awaitCommit(requestId: string): void {
    this.awaitingCommit.push(requestId);
  }

  /** releaseAwaitingCommit starts the parked reads once the leader's first entry committed. */
  releaseAwaitingCommit(commitIndex: number, soleVoter: boolean): void {
    const waiting = this.awaitingCommit;
    this.awaitingCommit = [];
    for (const requestId of waiting) this.start(requestId, commitIndex, soleVoter);
  }

  /** start records a read at `commitIndex`; a sole voter needs no round and serves it at once. */
  start(requestId: string, commitIndex: number, soleVoter: boolean): void {
    if (soleVoter) {
      this.confirmed.push({ requestId, index: commitIndex });
      return;
    }
    this.pending.push({ requestId, index: commitIndex, seq: this.seq + 1 });
    this.roundPending = true;
  }

  /** takeRound returns true (and opens the next round) when reads wait for a heartbeat round to be sent. */
  takeRound(): boolean {
    if (!this.roundPending) return false;
    this.roundPending = false;
    this.seq++;
    return true;
  }

  /** release serves every read whose round a quorum acknowledged (`confirmedSeq` is the quorum's round). */
  release(confirmedSeq: number): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.seq <= confirmedSeq) {
      const read = this.pending[n]!;
      this.confirmed.push({ requestId: read.requestId, index: read.index });
      n++;
    }
    if (n > 0) this.pending.splice(0, n);
  }

  /** hasReadStates is true when released reads await the next Ready. */
  hasReadStates(): boolean {
    return this.confirmed.length > 0;
  }

  /** takeReadStates hands the released reads to a Ready. */
  takeReadStates(): ReadState[] {
    const out = this.confirmed;
    this.confirmed = [];
    return out;
  }

  /** dropPending forgets unreleased reads (leadership lost: the runtime fails them). Released ones still go out. */
  dropPending(): void {
    this.pending = [];
    this.awaitingCommit = [];
    this.roundPending = false;
  }
}
