import { assert } from './assert';
import { LeadershipError } from './errors';
import { QUEUE_LENGTH_MAX } from './limits';

/**
 * Waiter is a candidate waiting for a scope, with the lease terms it will get when promoted.
 * `joinedRevision` is the index of the campaign entry that queued it; since one entry queues at
 * most one candidate per scope, it orders ties without ambiguity.
 */
export interface Waiter {
  readonly candidateId: string;
  /** sessionId is the client session that campaigned ('' for none); the lease it is promoted to carries it. */
  readonly sessionId: string;
  readonly metadata: string;
  readonly leaseTtlMs: number;
  readonly priority: number;
  readonly joinedRevision: number;
}

/** waiterBefore tells whether `a` wins over `b`: higher priority first, then the earlier join. */
export function waiterBefore(a: Waiter, b: Waiter): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.joinedRevision < b.joinedRevision;
}

/**
 * WaitQueue is a scope's queue of waiting candidates, kept in promotion order: highest priority
 * first, ties to the earliest to join. Every replica builds the same order from the same log,
 * so promotion is deterministic. At most QUEUE_LENGTH_MAX waiters; a candidate appears once.
 */
export class WaitQueue {
  private readonly waiters: Waiter[] = [];

  /** length is the number of waiting candidates. */
  get length(): number {
    return this.waiters.length;
  }

  /** position returns the 0-based promotion rank of `candidateId`, or -1 when it is not waiting. */
  position(candidateId: string): number {
    return this.waiters.findIndex((w) => w.candidateId === candidateId);
  }

  /** get returns the waiter `candidateId`, or undefined. */
  get(candidateId: string): Waiter | undefined {
    return this.waiters.find((w) => w.candidateId === candidateId);
  }

  /**
   * insert queues `waiter` in promotion order and returns its rank. It throws QUEUE_FULL at
   * QUEUE_LENGTH_MAX; the caller makes sure the candidate is not already waiting.
   */
  insert(waiter: Waiter, scope: string): number {
    if (this.waiters.length >= QUEUE_LENGTH_MAX) {
      throw new LeadershipError(
        'QUEUE_FULL',
        `scope ${JSON.stringify(scope)} already has ${QUEUE_LENGTH_MAX} waiting candidates; withdraw one first`,
        { scope, limit: QUEUE_LENGTH_MAX },
      );
    }
    assert(
      this.position(waiter.candidateId) === -1,
      () => `candidate ${waiter.candidateId} queued twice in ${scope}`,
    );
    let at = this.waiters.length;
    while (at > 0 && waiterBefore(waiter, this.waiters[at - 1]!)) {
      at--;
    }
    this.waiters.splice(at, 0, waiter);
    return at;
  }

  /** remove takes `candidateId` out of the queue and returns it, or undefined when it was not waiting. */
  remove(candidateId: string): Waiter | undefined {
    const at = this.position(candidateId);
    if (at === -1) {
      return undefined;
    }
    return this.waiters.splice(at, 1)[0];
  }

  /** shift takes the first waiter in promotion order out of the queue, or returns undefined when empty. */
  shift(): Waiter | undefined {
    return this.waiters.shift();
  }

  /** toArray returns the waiters in promotion order (a copy). */
  toArray(): Waiter[] {
    return this.waiters.slice();
  }

  /**
   * fromArray rebuilds a queue from waiters in promotion order (a snapshot), asserting the order
   * and that no candidate appears twice.
   */
  static fromArray(waiters: readonly Waiter[], scope: string): WaitQueue {
    const queue = new WaitQueue();
    waiters.forEach((waiter, i) => {
      const previous = waiters[i - 1];
      assert(
        previous === undefined || waiterBefore(previous, waiter),
        () =>
          `queue of ${scope} out of order at ${i}: ${JSON.stringify([previous?.priority, waiter.priority])}`,
      );
      assert(
        queue.position(waiter.candidateId) === -1,
        () => `candidate ${waiter.candidateId} queued twice in ${scope}`,
      );
      queue.waiters.push(waiter);
    });
    return queue;
  }
}
