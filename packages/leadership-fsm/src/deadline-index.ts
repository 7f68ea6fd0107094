/**
 * DueLease names a live lease and its deadline: what the Raft leader needs to schedule an
 * Expire command with a timer at the exact deadline.
 */
export interface DueLease {
  readonly scope: string;
  readonly fenceToken: bigint;
  readonly deadlineMs: number;
}

function before(a: DueLease, b: DueLease): boolean {
  if (a.deadlineMs !== b.deadlineMs) {
    return a.deadlineMs < b.deadlineMs;
  }
  if (a.scope !== b.scope) {
    return a.scope < b.scope;
  }
  return a.fenceToken < b.fenceToken;
}

/**
 * DeadlineIndex is a min-heap of lease deadlines ordered by (deadline, scope, fence), so the
 * leader finds the next deadline in O(1) and the due leases in O(k log n) at 100,000 leases.
 * It is derived data, never part of a snapshot: each deadline change pushes a new entry and the
 * old one goes stale; the caller's `isLive` says which entries still match the state, stale
 * ones are dropped when met, and `rebuild` compacts it. Its answers depend only on the state.
 */
export class DeadlineIndex {
  private heap: DueLease[] = [];

  /** size is the number of entries, stale ones included. */
  get size(): number {
    return this.heap.length;
  }

  /** push records that lease (scope, fence) is now due at `deadlineMs`. */
  push(entry: DueLease): void {
    const heap = this.heap;
    heap.push(entry);
    let at = heap.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(heap[at]!, heap[parent]!)) {
        break;
      }
      [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
      at = parent;
    }
  }

  private pop(): DueLease | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let at = start;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let smallest = at;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) {
        smallest = left;
      }
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) {
        smallest = right;
      }
      if (smallest === at) {
        return;
      }
      [heap[at], heap[smallest]] = [heap[smallest]!, heap[at]!];
      at = smallest;
    }
  }

  /** peek returns the live entry with the earliest deadline, dropping stale entries on the way. */
  peek(isLive: (entry: DueLease) => boolean): DueLease | undefined {
    let top = this.heap[0];
    while (top !== undefined && !isLive(top)) {
      this.pop();
      top = this.heap[0];
    }
    return top;
  }

  /**
   * due returns up to `limit` live leases with `deadlineMs <= nowMs`, earliest first (ties by
   * scope), each once. Stale entries met on the way are dropped; live ones stay in the index.
   */
  due(nowMs: number, limit: number, isLive: (entry: DueLease) => boolean): DueLease[] {
    const found: DueLease[] = [];
    const seen = new Set<string>();
    while (found.length < limit) {
      const top = this.heap[0];
      if (top === undefined || top.deadlineMs > nowMs) {
        break;
      }
      this.pop();
      if (isLive(top) && !seen.has(top.scope)) {
        seen.add(top.scope);
        found.push(top);
      }
    }
    for (const entry of found) {
      this.push(entry);
    }
    return found;
  }

  /** rebuild replaces the index with exactly `entries` (the live leases), in O(n). */
  rebuild(entries: DueLease[]): void {
    this.heap = entries;
    for (let at = (entries.length >> 1) - 1; at >= 0; at--) {
      this.siftDown(at);
    }
  }
}
