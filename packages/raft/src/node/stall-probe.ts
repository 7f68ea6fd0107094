/** RECENT_STALL_MS is the shortest stall the probe counts and keeps among the recent ones. */
export const RECENT_STALL_MS = 20;

/** RECENT_STALLS_MAX bounds how many recent stalls the probe keeps (the oldest go first). */
export const RECENT_STALLS_MAX = 64;

/** Stall is one stall of at least RECENT_STALL_MS. */
export interface Stall {
  /** ms is how much later than due the tick timer ran, in whole milliseconds. */
  readonly ms: number;
  /** at is when the stall ended (ISO 8601). */
  readonly at: string;
}

/** EventLoopStall is the longest the event loop was late since the node started, and the latest stalls. */
export interface EventLoopStall {
  /** longestMs is how much later than due the node's tick timer ran, at worst (0 before any tick). */
  readonly longestMs: number;
  /** at is when that stall ended (ISO 8601), or null when none was seen. */
  readonly at: string | null;
  /** count is how many stalls of at least RECENT_STALL_MS the node saw since start. */
  readonly count: number;
  /**
   * recent are the latest of those stalls, oldest first, at most RECENT_STALLS_MAX of them: what a
   * reader needs to find the longest stall within a stretch of time (a deploy, a load test) rather
   * than since start.
   */
  readonly recent: readonly Stall[];
}

/**
 * StallProbe measures event-loop stalls with the drift of a periodic timer: a run that comes
 * `periodMs` plus X after the previous one was held up by X (synchronous work, a GC pause, a
 * stopped process). The node feeds it its Raft tick timer, so what it reports is exactly how
 * late heartbeats and election timers ran.
 *
 * The recent stalls are a ring of two number arrays, so observing allocates nothing; `stall()`
 * builds the objects when someone asks.
 */
export class StallProbe {
  private previousMs: number | undefined;
  private longestMs = 0;
  private at: string | null = null;
  private count = 0;
  private readonly recentMs: number[] = [];
  private readonly recentWallMs: number[] = [];

  /** constructor takes the timer's period. */
  constructor(private readonly periodMs: number) {}

  /** observe records one timer run at monotonic time `nowMs`, and `wallMs` (Date.now()) for the report. */
  observe(nowMs: number, wallMs: number): void {
    const previous = this.previousMs;
    this.previousMs = nowMs;
    if (previous === undefined) return;
    const lateMs = nowMs - previous - this.periodMs;
    if (lateMs > this.longestMs) {
      this.longestMs = lateMs;
      this.at = new Date(wallMs).toISOString();
    }
    if (lateMs >= RECENT_STALL_MS) {
      const slot = this.count % RECENT_STALLS_MAX;
      this.recentMs[slot] = lateMs;
      this.recentWallMs[slot] = wallMs;
      this.count++;
    }
  }

  /** stall is the longest stall seen so far and the recent ones, in whole milliseconds. */
  stall(): EventLoopStall {
    const kept = Math.min(this.count, RECENT_STALLS_MAX);
    const recent: Stall[] = [];
    for (let k = this.count - kept; k < this.count; k++) {
      const slot = k % RECENT_STALLS_MAX;
      recent.push({
        ms: Math.round(this.recentMs[slot]!),
        at: new Date(this.recentWallMs[slot]!).toISOString(),
      });
    }
    return { longestMs: Math.round(this.longestMs), at: this.at, count: this.count, recent };
  }
}
