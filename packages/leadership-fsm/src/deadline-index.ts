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
 * It holds at most one entry per scope: a push for a scope already in it moves that entry in
 * place (O(log n)), so a renewal leaves nothing stale behind and no replica ever has a backlog of
 * stale entries to drop in one go (a follower never peeks; it used to pile up one entry per
 * renewal until a full rebuild). It is derived data, never part of a snapshot: an entry whose
 * lease ended (released, expired) goes stale; the caller's `isLive` says which entries still
 * match the state, stale ones are dropped when met, and `rebuild` compacts it. Its answers
 * depend only on the state.
 */
export class DeadlineIndex {
  private heap: DueLease[] = [];
  /** positions maps each scope in the heap to its entry's place. */
  private positions = new Map<string, number>();

  /** size is the number of entries, stale ones included. */
  get size(): number {
    return this.heap.length;
  }

  /** push records that lease (scope, fence) is now due at `deadlineMs`, replacing the scope's entry. */
  push(entry: DueLease): void {
    const at = this.positions.get(entry.scope);
    if (at === undefined) {
      this.heap.push(entry);
      this.siftUp(this.heap.length - 1, entry);
      return;
    }
    const old = this.heap[at]!;
    if (before(entry, old)) this.siftUp(at, entry);
    else this.siftDown(at, entry);
  }

  private pop(): DueLease | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    this.positions.delete(top.scope);
    const last = heap.pop()!;
    if (heap.length > 0) this.siftDown(0, last);
    return top;
  }

  /** siftUp puts `entry` at `start`'s place or above it. */
  private siftUp(start: number, entry: DueLease): void {
    const heap = this.heap;
    let at = start;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = heap[parent]!;
      if (!before(entry, p)) break;
      heap[at] = p;
      this.positions.set(p.scope, at);
      at = parent;
    }
    heap[at] = entry;
    this.positions.set(entry.scope, at);
  }

  /** siftDown puts `entry` at `start`'s place or below it. */
  private siftDown(start: number, entry: DueLease): void {
    const heap = this.heap;
    const n = heap.length;
    let at = start;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right]!, heap[left]!)) child = right;
      const c = heap[child]!;
      if (!before(c, entry)) break;
      heap[at] = c;
      this.positions.set(c.scope, at);
      at = child;
    }
    heap[at] = entry;
    this.positions.set(entry.scope, at);
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
    while (found.length < limit) {
      const top = this.heap[0];
      if (top === undefined || top.deadlineMs > nowMs) {
        break;
      }
      this.pop();
      if (isLive(top)) found.push(top);
    }
    for (const entry of found) {
      this.push(entry);
    }
    return found;
  }

  /** rebuild replaces the index with `entries` (the live leases, one per scope), in O(n). */
  rebuild(entries: DueLease[]): void {
    this.heap = entries;
    this.positions = new Map();
    entries.forEach((e, at) => this.positions.set(e.scope, at));
    for (let at = (entries.length >> 1) - 1; at >= 0; at--) {
      this.siftDown(at, entries[at]!);
    }
  }
}
