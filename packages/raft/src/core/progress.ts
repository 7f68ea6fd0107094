import { Inflights } from './inflights';

/**
 * ProgressState is how the leader replicates to one follower:
 *
 *            reject / unreachable                 needs compacted entries
 *   ┌──────────────────────────────┐       ┌──────────────────────────────┐
 *   ▼                              │       │                              ▼
 * probe ──── ack ───────────▶ replicate    probe ◀── ack ≥ snapshot ── snapshot
 *   (one message at a time)   (a window of inflightMessagesMax, optimistic next)
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

  constructor(next: number, inflightMessagesMax: number) {
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax);
  }

  /** becomeProbe resumes probing from the last known match (or past the snapshot just sent). */
  becomeProbe(): void {
    const fromSnapshot = this.state === 'snapshot' ? this.pendingSnapshot : 0;
    this.resetState('probe');
    this.next = Math.max(this.match + 1, fromSnapshot + 1);
  }

  /** becomeReplicate streams optimistically from just after the match. */
  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
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
    this.inflights.reset();
  }

  /** maybeUpdate records an acknowledgement of `index`; it returns false for a stale one. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * maybeDecrTo handles a rejection of the append at `rejected`, with `probeHint` the highest
   * index at which the logs may still agree. It returns false for a stale rejection. `next`
   * never goes below `match + 1`, whatever the hint says.
   */
  maybeDecrTo(rejected: number, probeHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeHint + 1), this.match + 1);
    this.probeSent = false;
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
