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

/** BUCKET_MS is the width of one deadline bucket of DeadlineIndex, in milliseconds. */
const BUCKET_MS = 64;

/**
 * DeadlineIndex finds the earliest lease deadline, and the leases due by a time, in (deadline,
 * scope, fence) order at 100,000 leases. It holds one entry per scope in buckets of BUCKET_MS of
 * deadline, with a min-heap of the bucket numbers in use: a push (a grant or a renewal) moves the
 * scope's entry to its new bucket in O(1), so renewals leave nothing stale behind and no replica
 * ever pays for a backlog in one go (a follower never asks for deadlines; with one heap entry
 * per renewal it piled them up until a full rebuild, and a new leader's first peek dropped them
 * all at once: both stalled the event loop). Only the earliest buckets are ever sorted. It is
 * derived data, never part of a snapshot: an entry whose lease ended (released, expired) goes
 * stale; the caller's `isLive` says which entries still match the state, and stale ones are
 * dropped when met. Its answers depend only on the state.
 */
export class DeadlineIndex {
  /** entries holds each scope's entry. */
  private entries = new Map<string, DueLease>();
  /** buckets holds the scopes whose deadline falls in each bucket. */
  private buckets = new Map<number, Set<string>>();
  /** bucketHeap is a min-heap of the bucket numbers in `buckets` (empty ones are dropped when met). */
  private bucketHeap: number[] = [];

  /** size is the number of entries, stale ones included. */
  get size(): number {
    return this.entries.size;
  }

  /** push records that lease (scope, fence) is now due at `deadlineMs`, replacing the scope's entry. */
  push(entry: DueLease): void {
    const old = this.entries.get(entry.scope);
    const bucket = bucketOf(entry.deadlineMs);
    if (old !== undefined) {
      const oldBucket = bucketOf(old.deadlineMs);
      if (oldBucket === bucket) {
        this.entries.set(entry.scope, entry);
        return;
      }
      this.buckets.get(oldBucket)?.delete(entry.scope);
    }
    this.entries.set(entry.scope, entry);
    let scopes = this.buckets.get(bucket);
    if (scopes === undefined) {
      scopes = new Set();
      this.buckets.set(bucket, scopes);
      heapPush(this.bucketHeap, bucket);
    }
    scopes.add(entry.scope);
  }

  /** peek returns the live entry with the earliest deadline, dropping stale entries on the way. */
  peek(isLive: (entry: DueLease) => boolean): DueLease | undefined {
    for (;;) {
      const bucket = this.bucketHeap[0];
      if (bucket === undefined) return undefined;
      let earliest: DueLease | undefined;
      for (const entry of this.liveIn(bucket, isLive)) {
        if (earliest === undefined || before(entry, earliest)) earliest = entry;
      }
      if (earliest !== undefined) return earliest;
    }
  }

  /**
   * due returns up to `limit` live leases with `deadlineMs <= nowMs`, earliest first (ties by
   * scope), each once. Stale entries met on the way are dropped; live ones stay in the index.
   */
  due(nowMs: number, limit: number, isLive: (entry: DueLease) => boolean): DueLease[] {
    const found: DueLease[] = [];
    // Buckets are visited in order by taking them off the heap; they go back afterwards.
    const visited: number[] = [];
    while (found.length < limit) {
      const bucket = this.bucketHeap[0];
      if (bucket === undefined || bucket * BUCKET_MS > nowMs) break;
      const due = this.liveIn(bucket, isLive).filter((e) => e.deadlineMs <= nowMs);
      if (this.buckets.has(bucket)) {
        heapPop(this.bucketHeap);
        visited.push(bucket);
      }
      due.sort((a, b) => (before(a, b) ? -1 : 1));
      for (const entry of due) {
        if (found.length >= limit) break;
        found.push(entry);
      }
    }
    for (const bucket of visited) heapPush(this.bucketHeap, bucket);
    return found;
  }

  /** rebuild replaces the index with `entries` (the live leases, one per scope), in O(n). */
  rebuild(entries: DueLease[]): void {
    this.entries = new Map();
    this.buckets = new Map();
    this.bucketHeap = [];
    for (const entry of entries) this.push(entry);
  }

  /**
   * liveIn lists the live entries of `bucket` (which must be in use), dropping its stale ones;
   * a bucket left empty is dropped from the index (and from the top of the heap).
   */
  private liveIn(bucket: number, isLive: (entry: DueLease) => boolean): DueLease[] {
    const scopes = this.buckets.get(bucket);
    const live: DueLease[] = [];
    if (scopes !== undefined) {
      for (const scope of scopes) {
        const entry = this.entries.get(scope)!;
        if (isLive(entry)) live.push(entry);
        else {
          scopes.delete(scope);
          this.entries.delete(scope);
        }
      }
    }
    if (live.length === 0) {
      this.buckets.delete(bucket);
      if (this.bucketHeap[0] === bucket) heapPop(this.bucketHeap);
    }
    return live;
  }
}

function bucketOf(deadlineMs: number): number {
  return Math.floor(deadlineMs / BUCKET_MS);
}

function heapPush(heap: number[], value: number): void {
  let at = heap.length;
  heap.push(value);
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[at] = heap[parent]!;
    at = parent;
  }
  heap[at] = value;
}

function heapPop(heap: number[]): void {
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return;
  let at = 0;
  for (;;) {
    const left = 2 * at + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && heap[right]! < heap[left]! ? right : left;
    if (heap[child]! >= last) break;
    heap[at] = heap[child]!;
    at = child;
  }
  heap[at] = last;
}
