/**
 * BEST_EFFORT_IN_FLIGHT_MAX is how many best-effort calls (the resign of a lease whose renewal was
 * never confirmed) one client runs at once. When a cluster blip leaves thousands of leases
 * unconfirmed together, one resign per lease at once was a storm on the client (and on the leader
 * it was meant to relieve): 25,000 unary calls from one worker thread kept it busy for over half a
 * minute, during which it sent no renewals, and more leases ended.
 */
export const BEST_EFFORT_IN_FLIGHT_MAX = 4;

/**
 * BEST_EFFORT_QUEUED_MAX is how many best-effort calls wait for a turn; past it the oldest waiting
 * one is dropped. Dropping is harmless: a resign only lets a waiting candidate in before the
 * lease's TTL runs out on the cluster, which it does anyway.
 */
export const BEST_EFFORT_QUEUED_MAX = 64;

/**
 * BestEffortQueue runs best-effort calls with at most `inFlightMax` at once and at most
 * `queuedMax` waiting, dropping the oldest waiting one when full. A call's failure is its own
 * (it is caught and ignored here). `dropped` counts the calls that never ran.
 */
export class BestEffortQueue {
  private readonly waiting: Array<() => Promise<unknown>> = [];
  private running = 0;
  private droppedCount = 0;
  private closed = false;

  constructor(
    private readonly inFlightMax: number = BEST_EFFORT_IN_FLIGHT_MAX,
    private readonly queuedMax: number = BEST_EFFORT_QUEUED_MAX,
  ) {}

  /** dropped is how many calls were dropped unrun (the queue was full, or closed). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** inFlight is how many calls run now. */
  get inFlight(): number {
    return this.running;
  }

  /** push runs `call` when a slot is free; the oldest waiting call is dropped if the queue is full. */
  push(call: () => Promise<unknown>): void {
    if (this.closed) {
      this.droppedCount++;
      return;
    }
    this.waiting.push(call);
    if (this.waiting.length > this.queuedMax) {
      this.waiting.shift();
      this.droppedCount++;
    }
    this.next();
  }

  /** close drops every waiting call; the running ones finish on their own. */
  close(): void {
    this.closed = true;
    this.droppedCount += this.waiting.length;
    this.waiting.length = 0;
  }

  private next(): void {
    while (this.running < this.inFlightMax && this.waiting.length > 0) {
      const call = this.waiting.shift()!;
      this.running++;
      void call()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.next();
        });
    }
  }
}
