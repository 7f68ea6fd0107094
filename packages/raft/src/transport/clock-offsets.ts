import type { NodeId } from '../core/index';

/** CLOCK_SAMPLES_MAX is how many recent batches per peer the offset estimate looks at (about 1.5 s of heartbeats). */
export const CLOCK_SAMPLES_MAX = 32;

/**
 * ClockOffsets estimates, per peer, how far this node's wall clock is ahead of the peer's: each
 * batch a peer sends carries its wall clock at sending, and `receivedAt − sentAt` is the offset
 * plus the one-way delay. The smallest of the last CLOCK_SAMPLES_MAX samples is the estimate: the
 * delay is never negative and on a calm link some batch crosses in well under a millisecond, so
 * the minimum over-estimates the offset by about the smallest delay seen. Positive: the peer's
 * clock is behind ours; negative: ahead. Lease safety never depends on it (fences do, and the
 * leader stamps from its monotonic clock); it is there so an operator sees a clock that drifted
 * past the configured skew before it matters.
 */
export class ClockOffsets {
  private readonly samples = new Map<NodeId, number[]>();

  /** record adds one batch from `peer` sent at `sentAtMs` (its wall clock) and received at `receivedAtMs` (ours). */
  record(peer: NodeId, sentAtMs: number, receivedAtMs: number): void {
    if (!Number.isFinite(sentAtMs) || sentAtMs <= 0) return;
    let list = this.samples.get(peer);
    if (list === undefined) {
      list = [];
      this.samples.set(peer, list);
    }
    list.push(receivedAtMs - sentAtMs);
    if (list.length > CLOCK_SAMPLES_MAX) list.shift();
  }

  /** offsetMs is the estimate for `peer` (ours minus theirs, ms), or null before any sample. */
  offsetMs(peer: NodeId): number | null {
    const list = this.samples.get(peer);
    if (list === undefined || list.length === 0) return null;
    return Math.min(...list);
  }
}
