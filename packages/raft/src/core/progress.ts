import { Inflights } from './inflights';

/**
 * ProgressState is how the leader replicates to one follower:
 *
 *            reject / unreachable                 needs compacted entries
 *   ┌──────────────────────────────┐       ┌──────────────────────────────┐
 *   ▼                              │       │                              ▼
 * probe ──── ack ───────────▶ replicate    probe ◀── ack ≥ snapshot ── snapshot
 *   (one message at a time)   (a window of inflightMessagesMax, optimistic next)
 *                                 ▲
 *                                 └── a new leader's voter that granted its vote starts here
 *                                     (replicateOptimistically), before any acknowledgement
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * Progress is the leader's view of one member's log. Invariants: `match < next`; `match` never
 * moves back (a stale acknowledgement is ignored); `next` may.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probeSent pauses a probing follower after one message until it answers or a heartbeat reply comes. */
  probeSent = false;
  /** pendingSnapshot is the index of the snapshot being sent (snapshot state only). */
  pendingSnapshot = 0;
  /** snapshotTicks counts ticks spent in snapshot state, so a lost snapshot is retried. */
  snapshotTicks = 0;
  /** recentActive is set by any message from the member; check-quorum reads and clears it. */
  recentActive = false;
  /** readSeqAcked is the newest ReadIndex round this member acknowledged in the current term. */
  readSeqAcked = 0;
  readonly inflights: Inflights;
  /**
   * optimisticNext is the `next` an optimistic start assumed (replicateOptimistically) while the
   * member has neither acknowledged nor rejected anything since; 0 otherwise. Falling back to probe
   * without a rejection (unreachable) resumes there, where a probe would have started, not at
   * `match + 1` (0 + 1: the whole log, or a snapshot).
   */
  private optimisticNext = 0;

  constructor(next: number, inflightMessagesMax: number) {
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax);
  }

  /**
   * becomeProbe resumes probing from the last known match (or past the snapshot just sent, or
   * where an unanswered optimistic start began).
   */
  becomeProbe(): void {
    const fromSnapshot = this.state === 'snapshot' ? this.pendingSnapshot : 0;
    const unanswered = this.optimisticNext;
    this.resetState('probe');
    this.next = Math.max(this.match + 1, fromSnapshot + 1, unanswered);
  }

  /** becomeReplicate streams optimistically from just after the match. */
  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  /**
   * replicateOptimistically streams from the current `next` before the member acknowledged
   * anything: a new leader does this for each voter that granted it its vote, so entries proposed
   * right after the no-op leave at once instead of waiting for a probe's answer. That voter's log is
   * not ahead of the leader's in (term, index) order, so it most likely holds everything up to
   * `next - 1`; if it does not (shorter or divergent), every append fails the log matching check
   * (§5.3) and the first rejection falls back to probe with its hint (maybeDecrTo). Optimism is
   * thus a question of speed only: `match` still moves only on acknowledgements.
   */
  replicateOptimistically(): void {
    this.resetState('replicate');
    this.optimisticNext = this.next;
  }

  /** becomeSnapshot pauses appends while the snapshot at `index` is sent. */
  becomeSnapshot(index: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.optimisticNext = 0;
    this.inflights.reset();
  }

  /** maybeUpdate records an acknowledgement of `index`; it returns false for a stale one. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
      this.optimisticNext = 0;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * maybeDecrTo handles a rejection of the append at `rejected`, with `probeHint` the highest
   * index at which the logs may still agree. It returns false for a stale rejection. A replicating
   * follower falls back to probe. Either way `next` moves to the hint plus one, at most `rejected`
   * and never below `match + 1`, whatever the hint says: a follower that has answered nothing yet
   * (an optimistic start, match 0) probes from where its log may agree, not from index 1.
   */
  maybeDecrTo(rejected: number, probeHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
    } else if (this.next - 1 !== rejected) {
      return false;
    }
    this.next = Math.max(Math.min(rejected, probeHint + 1), this.match + 1);
    this.probeSent = false;
    this.optimisticNext = 0;
    return true;
  }

  /** isPaused is true when nothing more may be sent to this member now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
