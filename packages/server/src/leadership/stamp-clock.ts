/** CLOCK_DRIFT_PPM_MAX_DEFAULT is the default bound on how fast lease time may run against the monotonic clock (±0.05 %). */
export const CLOCK_DRIFT_PPM_MAX_DEFAULT = 500;

/**
 * StampClock is lease time: the clock the leader stamps entries with, and the FSM's "now" on
 * every replica (DESIGN.md "Time"). It follows the monotonic clock, not the wall clock, so a wall
 * clock stepped forward or back on the leader moves no lease:
 *
 * - Every stamp a node applies (its own or another leader's) proves that lease time had reached
 *   that value when it arrived; projected forward with the monotonic clock, the newest proof is
 *   the estimate `est` of lease time now. Replayed old entries project to earlier values, so a live
 *   entry from a leader always supersedes them.
 * - A stamp follows the wall clock only within `est ± elapsed × driftPpmMax` (elapsed since that
 *   proof), so lease time can run at most driftPpmMax faster or slower than the monotonic clock,
 *   and slews towards the wall clock instead of jumping: a step of an hour costs nothing, and a
 *   clock that runs fast or slow bends lease time by at most that rate. The SDK's margin is sized
 *   from the same rate (maxClockSkewMs + ttl × driftPpmMax).
 * - Stamps never go back (`max(previous stamp, ...)`).
 * - Before any proof (the first entry of a new cluster) the wall clock is all there is.
 *
 * After a whole-cluster outage, lease time resumes where it stopped (leases neither expire nor
 * jump while nothing runs) and then slews towards the wall clock at driftPpmMax.
 */
export class StampClock {
  /** offsetMs is the newest proof as `stamp − monotonic time at its arrival` (−Infinity before any). */
  private offsetMs = Number.NEGATIVE_INFINITY;
  /** anchorMonoMs is the monotonic time at which the newest proof arrived. */
  private anchorMonoMs = 0;
  private lastMs = 0;

  constructor(
    /** driftPpmMax bounds how far lease time may run from the monotonic clock, in parts per million. */
    private readonly driftPpmMax: number = CLOCK_DRIFT_PPM_MAX_DEFAULT,
    private readonly wallMs: () => number = Date.now,
    private readonly monoMs: () => number = () => performance.now(),
  ) {}

  /** observe records a stamp applied on this node (any leader's). */
  observe(stampMs: number): void {
    this.lastMs = Math.max(this.lastMs, stampMs);
    const mono = this.monoMs();
    if (stampMs - mono > this.offsetMs) {
      this.offsetMs = stampMs - mono;
      this.anchorMonoMs = mono;
    }
  }

  /** now is lease time now, without handing out a stamp (expiry timers and the take-office grace read it). */
  now(): number {
    const wall = this.wallMs();
    if (this.offsetMs === Number.NEGATIVE_INFINITY) return Math.max(this.lastMs, Math.floor(wall));
    const mono = this.monoMs();
    const estimate = this.offsetMs + mono;
    const slack = ((mono - this.anchorMonoMs) * this.driftPpmMax) / 1_000_000;
    const followed = Math.min(Math.max(wall, estimate - slack), estimate + slack);
    return Math.max(this.lastMs, Math.floor(followed));
  }

  /** next hands out the next stamp: lease time now, never below the previous stamp. */
  next(): number {
    const stamp = this.now();
    this.observe(stamp);
    return stamp;
  }

  /** wallOffsetMs is how far lease time is behind the wall clock now (negative: ahead), for /status. */
  wallOffsetMs(): number {
    return Math.round(this.wallMs() - this.now());
  }
}
