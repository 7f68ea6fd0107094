/** EventLoopStall is the longest the event loop was late since the node started. */
export interface EventLoopStall {
  /** longestMs is how much later than due the node's tick timer ran, at worst (0 before any tick). */
  readonly longestMs: number;
  /** at is when that stall ended (ISO 8601), or null when none was seen. */
  readonly at: string | null;
}

/**
 * StallProbe measures event-loop stalls with the drift of a periodic timer: a run that comes
 * `periodMs` plus X after the previous one was held up by X (synchronous work, a GC pause, a
 * stopped process). The node feeds it its Raft tick timer, so what it reports is exactly how
 * late heartbeats and election timers ran.
 */
export class StallProbe {
  private previousMs: number | undefined;
  private longestMs = 0;
  private at: string | null = null;

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
  }

  /** stall is the longest stall seen so far, in whole milliseconds. */
  stall(): EventLoopStall {
    return { longestMs: Math.round(this.longestMs), at: this.at };
  }
}
