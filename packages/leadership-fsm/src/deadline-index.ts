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

/** Slot is one heap entry and its place in the heap (kept up to date by every move). */
interface Slot {
  entry: DueLease;
  at: number;
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
  private heap: Slot[] = [];
  /**
   * slots maps each scope in the heap to its slot, which knows its place: a move updates the
   * slot's field, not a map entry per level (at 100,000 leases a renewal's entry sinks about
   * 17 levels, and a map write per level took most of a renew entry's apply).
   */
  private slots = new Map<string, Slot>();

  /** size is the number of entries, stale ones included. */
  get size(): number {
    return this.heap.length;
  }

  /** push records that lease (scope, fence) is now due at `deadlineMs`, replacing the scope's entry. */
  push(entry: DueLease): void {
    const slot = this.slots.get(entry.scope);
    if (slot === undefined) {
      const added: Slot = { entry, at: this.heap.length };
      this.heap.push(added);
      this.slots.set(entry.scope, added);
      this.siftUp(added);
      return;
    }
    const old = slot.entry;
    slot.entry = entry;
    if (before(entry, old)) this.siftUp(slot);
    else this.siftDown(slot);
  }

  private pop(): DueLease | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    this.slots.delete(top.entry.scope);
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      last.at = 0;
      this.siftDown(last);
    }
    return top.entry;
  }

  /** siftUp moves `slot` from its place up to where its entry belongs. */
  private siftUp(slot: Slot): void {
    const heap = this.heap;
    let at = slot.at;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const p = heap[parent]!;
      if (!before(slot.entry, p.entry)) break;
      heap[at] = p;
      p.at = at;
      at = parent;
    }
    heap[at] = slot;
    slot.at = at;
  }

  /** siftDown moves `slot` from its place down to where its entry belongs. */
  private siftDown(slot: Slot): void {
    const heap = this.heap;
    const n = heap.length;
    let at = slot.at;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right]!.entry, heap[left]!.entry)) child = right;
      const c = heap[child]!;
      if (!before(c.entry, slot.entry)) break;
      heap[at] = c;
      c.at = at;
      at = child;
    }
    heap[at] = slot;
    slot.at = at;
  }

  /** peek returns the live entry with the earliest deadline, dropping stale entries on the way. */
  peek(isLive: (entry: DueLease) => boolean): DueLease | undefined {
    let top = this.heap[0];
    while (top !== undefined && !isLive(top.entry)) {
      this.pop();
      top = this.heap[0];
    }
    return top?.entry;
  }

  /**
   * due returns up to `limit` live leases with `deadlineMs <= nowMs`, earliest first (ties by
   * scope), each once. Stale entries met on the way are dropped; live ones stay in the index.
   */
  due(nowMs: number, limit: number, isLive: (entry: DueLease) => boolean): DueLease[] {
    const found: DueLease[] = [];
    while (found.length < limit) {
      const top = this.heap[0];
      if (top === undefined || top.entry.deadlineMs > nowMs) {
        break;
      }
      this.pop();
      if (isLive(top.entry)) found.push(top.entry);
    }
    for (const entry of found) {
      this.push(entry);
    }
    return found;
  }

  /** rebuild replaces the index with `entries` (the live leases, one per scope), in O(n). */
  rebuild(entries: DueLease[]): void {
    this.heap = entries.map((entry, at) => ({ entry, at }));
    this.slots = new Map();
    for (const slot of this.heap) this.slots.set(slot.entry.scope, slot);
    for (let at = (this.heap.length >> 1) - 1; at >= 0; at--) {
      this.siftDown(this.heap[at]!);
    }
  }
}
