/**
 * EventQueue is a binary min-heap of events keyed by (time, insertion order), so that events
 * due at the same simulated time run in the order they were scheduled: the schedule depends only
 * on the seed. Its size is bounded by `capacityMax`; overflowing it is a simulator bug.
 */
export class EventQueue<T> {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly items: T[] = [];
  private nextSeq = 0;

  /** constructor takes the bound on queued events. */
  constructor(private readonly capacityMax: number) {}

  /** size is the number of queued events. */
  get size(): number {
    return this.items.length;
  }

  /** push queues `item` at simulated time `time`. */
  push(time: number, item: T): void {
    if (this.items.length >= this.capacityMax) {
      throw new Error(`event queue: more than ${this.capacityMax} events queued`);
    }
    this.times.push(time);
    this.seqs.push(this.nextSeq++);
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  /** peekTime is the time of the earliest event, or undefined when empty. */
  peekTime(): number | undefined {
    return this.times[0];
  }

  /** pop removes and returns the earliest event with its time, or undefined when empty. */
  pop(): { time: number; item: T } | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const time = this.times[0]!;
    const item = this.items[0]!;
    const lastTime = this.times.pop()!;
    const lastSeq = this.seqs.pop()!;
    const lastItem = this.items.pop()!;
    if (n > 1) {
      this.times[0] = lastTime;
      this.seqs[0] = lastSeq;
      this.items[0] = lastItem;
      this.siftDown(0);
    }
    return { time, item };
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a]!;
    const tb = this.times[b]!;
    return ta < tb || (ta === tb && this.seqs[a]! < this.seqs[b]!);
  }

  private swap(a: number, b: number): void {
    const t = this.times[a]!;
    this.times[a] = this.times[b]!;
    this.times[b] = t;
    const s = this.seqs[a]!;
    this.seqs[a] = this.seqs[b]!;
    this.seqs[b] = s;
    const i = this.items[a]!;
    this.items[a] = this.items[b]!;
    this.items[b] = i;
  }

  private siftUp(start: number): void {
    let k = start;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.less(k, parent)) return;
      this.swap(k, parent);
      k = parent;
    }
  }

  private siftDown(start: number): void {
    const n = this.items.length;
    let k = start;
    // Each pass moves one level down; a heap of fewer than 2^53 items is under 64 levels deep.
    for (let depth = 0; depth < 64; depth++) {
      const left = 2 * k + 1;
      if (left >= n) return;
      const right = left + 1;
      const child = right < n && this.less(right, left) ? right : left;
      if (!this.less(child, k)) return;
      this.swap(child, k);
      k = child;
    }
    throw new Error('event queue: heap deeper than 64 levels');
  }
}
