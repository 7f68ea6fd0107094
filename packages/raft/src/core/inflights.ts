import { assert } from './assert';

/**
 * Inflights bounds the append messages in flight to one follower. It records the last entry
 * index of each message sent, in increasing order; an acknowledgement of index i frees every
 * message whose last index is ≤ i.
 */
export class Inflights {
  private readonly lastIndexes: number[] = [];

  constructor(readonly capacity: number) {
    assert(capacity >= 1, () => `inflights capacity ${capacity} < 1`);
  }

  /** count is the number of messages in flight. */
  get count(): number {
    return this.lastIndexes.length;
  }

  /** full is true when no further message may be sent until one is acknowledged. */
  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  /** add records a message whose last entry is `lastIndex`; indexes must increase. */
  add(lastIndex: number): void {
    assert(!this.full(), () => `inflights add(${lastIndex}) while full (${this.capacity})`);
    const previous = this.lastIndexes[this.lastIndexes.length - 1];
    assert(previous === undefined || lastIndex > previous, () => {
      return `inflights add(${lastIndex}) not above previous ${String(previous)}`;
    });
    this.lastIndexes.push(lastIndex);
  }

  /** freeLE frees every message whose last index is ≤ `index`. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && this.lastIndexes[n]! <= index) n++;
    if (n > 0) this.lastIndexes.splice(0, n);
  }

  /** freeFirstOne frees the oldest message, so a stalled window can make progress (after a heartbeat reply). */
  freeFirstOne(): void {
    this.lastIndexes.shift();
  }

  /** reset forgets every message in flight. */
  reset(): void {
    this.lastIndexes.length = 0;
  }
}
