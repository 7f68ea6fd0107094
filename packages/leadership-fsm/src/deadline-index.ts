import { assert } from './assert';
import { DEADLINE_INDEX_BUCKET_MS, DEADLINE_INDEX_MOVES_MAX } from './limits';

/**
 * DueLease names a live lease and its deadline: what the Raft leader needs to schedule an
 * Expire command with a timer at the exact deadline.
 */
export interface DueLease {
  readonly scope: string;
  readonly fenceToken: bigint;
  readonly deadlineMs: number;
}

/**
 * LEFT is the place of a slot that left the index (a new push of its scope makes a new slot).
 * Invariant: a slot is LEFT exactly when it is not its scope's slot in the index's map.
 */
const LEFT = -1;

/** FILED is the place of a slot that waits in the bucket of its key, not in the heap. */
const FILED = -2;

/**
 * Slot is one scope's place in the index, holding two (deadline, fence) pairs as its own fields:
 * the key, what the heap orders by, and the entry, the scope's latest push. Invariant (the safety
 * property): the key is never after the entry in (deadline, fence) order, so the heap never meets
 * a lease later than its deadline (a key later than the lease's real deadline would make its
 * expiry late). When they differ the slot is lazy: its entry moved later and the heap has not
 * caught up yet. The pairs are fields, not objects, so a renewal or a re-key allocates nothing: at
 * 100,000 leases an object per renewal, kept until the lease's next one, survived young-generation
 * collections and was promoted, most of what each scavenge copied.
 */
interface Slot {
  readonly scope: string;
  keyMs: number;
  keyFence: bigint;
  entryMs: number;
  entryFence: bigint;
  /**
   * at is the slot's place in the heap, FILED while it waits in the bucket of its key
   * (`floor(keyMs / bucketMs)`: no field of its own, so a slot costs no more than in a plain heap),
   * LEFT once it left the index. A bucket's list may still hold a slot that moved since (to the
   * heap, or to an earlier bucket after a push moved its key earlier): that reference is stale, and
   * only one whose slot is FILED with its key in this bucket counts.
   */
  at: number;
}

/**
 * DeadlineSlot is a scope's slot as `pushAt` hands it back: a caller that keeps it (the state
 * machine, on the scope's record) passes it to the scope's next push, which then finds the slot
 * without a lookup in the map of every scope — at 100,000 leases a renewal's lookups miss the
 * CPU's caches, about 1 µs each. Opaque to the caller: only the index reads or changes it.
 */
export type DeadlineSlot = Readonly<Pick<Slot, 'scope'>>;

/** newSlot is a slot for lease (scope, fence) due at `deadlineMs`, its key its entry, in no place yet. */
function newSlot(scope: string, fenceToken: bigint, deadlineMs: number): Slot {
  return {
    scope,
    keyMs: deadlineMs,
    keyFence: fenceToken,
    entryMs: deadlineMs,
    entryFence: fenceToken,
    at: LEFT,
  };
}

/** isLazy tells whether the slot's entry moved since its key was set (see Slot). */
function isLazy(slot: Slot): boolean {
  return slot.keyMs !== slot.entryMs || slot.keyFence !== slot.entryFence;
}

/** keyOf is the slot's key as a DueLease (a new object: the index hands out no object it keeps). */
function keyOf(slot: Slot): DueLease {
  return { scope: slot.scope, fenceToken: slot.keyFence, deadlineMs: slot.keyMs };
}

/**
 * before tells whether key `xMs` of slot `x` comes before key `yMs` of slot `y`, for two slots of
 * different scopes (the heap holds one per scope): by deadline, then scope, then fence. The
 * deadlines are passed as numbers, read from the heap's typed array, so most comparisons touch no
 * slot object; equal deadlines (every lease of one renew entry gets the same one) compare the
 * scopes. Those are few since the heap holds only the next bucket's slots: ranking every scope by
 * name to compare numbers instead (sessions 23–25) cost more than it saved — half of a leader's
 * due-scan time, and a new leader, whose index a follower never ranked, ranked 100,000 slots over
 * its first calls (3.2 s of its first 15 s in a scale run's profile).
 */
function before(xMs: number, x: Slot, yMs: number, y: Slot): boolean {
  if (xMs !== yMs) return xMs < yMs;
  if (x.scope !== y.scope) return x.scope < y.scope;
  return x.keyFence < y.keyFence;
}

/**
 * ARITY is how many children a heap node has. At 100,000 leases a re-key sinks through the heap
 * from its top; with four children it goes half as deep as with two, and the four children's
 * deadlines lie side by side in `keys`, one cache line: a level costs one line of the array and
 * the moved slot's `at`, where a binary heap of objects read two scattered slots a level.
 */
const ARITY = 4;

/** INITIAL_CAPACITY is the first length of `keys` (it doubles as the heap grows). */
const INITIAL_CAPACITY = 1024;

/**
 * Intake is a bucket being taken into the heap, a budget of references at a time: its list, left
 * out of `buckets`, and how far it has been read.
 */
interface Intake {
  readonly bucket: number;
  readonly startMs: number;
  readonly filed: readonly Slot[];
  next: number;
}

/**
 * DeadlineIndex orders lease deadlines by (deadline, scope, fence), so the leader finds the next
 * deadline in O(1) amortized and the due leases in O(k log m), m the few hundred slots due within
 * the next bucket, at 100,000 leases. It holds at most one slot per scope, so a renewal leaves
 * nothing stale behind and no replica ever has a backlog of stale entries to drop in one go.
 *
 * Two levels: a min-heap (ARITY children a node) of the slots whose keys come before `horizonMs`,
 * the end of the latest bucket it took in, and buckets of `bucketMs` milliseconds holding every
 * later slot, filed by key with one append and in no order. Only when the heap is empty does it
 * take in the earliest bucket, and then reads the whole bucket before it answers anything at or
 * after the bucket's start, so the heap's top is the index's minimum. A bucket is read a budget of
 * references at a time, so one that holds most leases (a grace gives them one deadline) costs no
 * single call more than its budget. A follower's index, never asked, is all buckets: each slot
 * filed once.
 *
 * A push that moves a scope's entry later (a renewal, a grace) is O(1): it only records the new
 * entry and leaves the slot's key where it was, which stays at or before the lease's real
 * deadline. A push that moves it earlier re-keys at once (a sift up, or a filing in an earlier
 * bucket). `peek` and `due` meet the minimum key; when its slot is lazy they re-key it to its
 * entry — within the heap when the entry is before the horizon, else by filing it in its bucket —
 * and look again, so every answer is that of an index re-keyed at every push, or, when a call's
 * budget of moves (DEADLINE_INDEX_MOVES_MAX) runs out first, a safe partial one: a lower bound of
 * the next deadline, the earliest due leases found so far. Only the leader asks the index
 * anything, so a follower's renewal costs a map lookup, a comparison and a field write, and on the
 * leader a lease renewed several times before its key comes up moves once. A grace that moves
 * 100,000 deadlines later leaves as many lazy slots, which the leader's calls catch up a budget at
 * a time rather than in one long task.
 *
 * Ties on the deadline go by scope, then fence.
 *
 * It is derived data, never part of a snapshot: an entry whose lease ended (released, expired)
 * goes stale; the caller's `isLive` says which entries still match the state, stale ones are
 * dropped when met, and `rebuild` compacts it. Its answers depend only on the state.
 */
export class DeadlineIndex {
  private heap: Slot[] = [];
  /**
   * keys holds, by heap place, the key deadline of the slot there (the slot's own keyMs, copied):
   * the sifts compare these numbers, in memory order, instead of reading the slots, which lie
   * scattered in memory. Invariant: keys[at] === heap[at].keyMs for every place of the heap.
   */
  private keys = new Float64Array(INITIAL_CAPACITY);
  /**
   * slots maps each scope in the index to its slot, which knows its place: a move updates the
   * slot's field, not a map entry per level.
   */
  private slots = new Map<string, Slot>();
  /**
   * horizonMs is the end of the latest bucket the heap took in (-Infinity before the first).
   * Invariant: every heap key is before it, every filed slot's key at or after it (but those of
   * the intake's unread slots).
   */
  private horizonMs = -Infinity;
  /** buckets maps a bucket's number to the slots filed in it (stale references included). */
  private buckets = new Map<number, Slot[]>();
  /** bucketOrder is a binary min-heap of the numbers of `buckets`, each once. */
  private bucketOrder: number[] = [];
  /**
   * intake is the bucket being taken in, if one is: its unread slots are filed with keys before
   * the horizon, the one exception to the horizon's invariant, and until it is read the heap's top
   * is the minimum only when it comes before the intake's start.
   */
  private intake: Intake | undefined;

  /**
   * `bucketMs` is the width of a bucket (DEADLINE_INDEX_BUCKET_MS; tests use narrow ones so that
   * small deadlines span many buckets). Answers do not depend on it, only costs.
   */
  constructor(private readonly bucketMs: number = DEADLINE_INDEX_BUCKET_MS) {
    assert(
      Number.isSafeInteger(bucketMs) && bucketMs >= 1,
      () => `deadline index bucket width ${bucketMs} ms is not a whole number of ms from 1`,
    );
  }

  /** size is the number of slots (one per scope pushed since the last rebuild), stale ones included. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * push records that lease (scope, fence) is now due at `deadlineMs`, replacing the scope's entry:
   * in O(1) when the entry is not before the slot's key, else moving the slot earlier at once. The
   * index copies the fields; it keeps no object it is given.
   */
  push(entry: DueLease): void {
    this.pushAt(entry.scope, entry.fenceToken, entry.deadlineMs);
  }

  /**
   * pushAt is `push` with the entry's fields as arguments (the state machine's calls: no object to
   * build). It returns the scope's slot; `known`, the slot an earlier push of the scope returned, is
   * used without a lookup while it is still the scope's (a slot that left the index is LEFT, and
   * only then: see `rebuild`), else the scope's slot is looked up.
   */
  pushAt(scope: string, fenceToken: bigint, deadlineMs: number, known?: DeadlineSlot): DeadlineSlot {
    const slot =
      known !== undefined && (known as Slot).at !== LEFT && known.scope === scope
        ? (known as Slot)
        : this.slots.get(scope);
    if (slot === undefined) {
      const added = newSlot(scope, fenceToken, deadlineMs);
      this.slots.set(scope, added);
      this.enter(added);
      return added;
    }
    slot.entryMs = deadlineMs;
    slot.entryFence = fenceToken;
    // A renewal moves the deadline later: decided by the numbers alone, with no call.
    if (deadlineMs < slot.keyMs || (deadlineMs === slot.keyMs && fenceToken < slot.keyFence)) {
      const filedIn = this.bucketOf(slot.keyMs);
      slot.keyMs = deadlineMs;
      slot.keyFence = fenceToken;
      if (slot.at >= 0) this.siftUp(slot);
      else if (deadlineMs < this.horizonMs || this.bucketOf(deadlineMs) !== filedIn) this.enter(slot);
    }
    return slot;
  }

  /** bucketOf is the number of the bucket a key belongs in. */
  private bucketOf(keyMs: number): number {
    return Math.floor(keyMs / this.bucketMs);
  }

  /**
   * enter puts a slot that is not in the heap where its key belongs: into the heap when the key
   * is before the horizon, else into its key's bucket (a reference it may have in another bucket
   * goes stale).
   */
  private enter(slot: Slot): void {
    if (slot.keyMs < this.horizonMs) {
      slot.at = this.heap.length;
      this.heap.push(slot);
      this.reserve(this.heap.length);
      this.siftUp(slot);
      return;
    }
    const bucket = this.bucketOf(slot.keyMs);
    slot.at = FILED;
    const filed = this.buckets.get(bucket);
    if (filed !== undefined) {
      filed.push(slot);
      return;
    }
    this.buckets.set(bucket, [slot]);
    const order = this.bucketOrder;
    let at = order.length;
    order.push(bucket);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (order[parent]! <= bucket) break;
      order[at] = order[parent]!;
      at = parent;
    }
    order[at] = bucket;
  }

  /** nextBucket removes the smallest number from `bucketOrder` and returns it. */
  private nextBucket(): number {
    const order = this.bucketOrder;
    const first = order[0]!;
    const last = order.pop()!;
    const n = order.length;
    if (n === 0) return first;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && order[child + 1]! < order[child]!) child++;
      if (order[child]! >= last) break;
      order[at] = order[child]!;
      at = child;
    }
    order[at] = last;
    return first;
  }

  /**
   * openIntake starts taking in the earliest bucket (there must be one): its list leaves `buckets`,
   * and the horizon moves to its end.
   */
  private openIntake(): Intake {
    const bucket = this.nextBucket();
    const filed = this.buckets.get(bucket)!;
    this.buckets.delete(bucket);
    this.horizonMs = (bucket + 1) * this.bucketMs;
    const intake: Intake = { bucket, startMs: bucket * this.bucketMs, filed, next: 0 };
    this.intake = intake;
    return intake;
  }

  /**
   * takeIn reads up to `budget` references of the open intake and returns how many it read. A
   * lazy slot's old key is coming due, so it is re-keyed on the way: when its entry lies beyond the
   * horizon it goes straight on to that entry's bucket, an append, and never enters the heap (most
   * slots, renewed since they were filed); the others enter the heap, heapified in O(k) when it was
   * empty, else each sifted up. Stale references are skipped. The intake closes once its list is
   * read.
   */
  private takeIn(intake: Intake, budget: number): number {
    const { filed, bucket } = intake;
    const from = intake.next;
    const end = Math.min(filed.length, from + budget);
    const heap = this.heap;
    // Into an empty heap the slots go all at once, heapified at the end; else each sifts up.
    const batch = heap.length === 0;
    for (let i = from; i < end; i++) {
      const slot = filed[i]!;
      if (slot.at !== FILED || this.bucketOf(slot.keyMs) !== bucket) continue;
      if (isLazy(slot)) {
        this.catchUp(slot);
        if (slot.keyMs >= this.horizonMs) {
          this.enter(slot);
          continue;
        }
      }
      slot.at = heap.length;
      heap.push(slot);
      if (!batch) {
        this.reserve(heap.length);
        this.siftUp(slot);
      }
    }
    if (batch) this.heapify();
    intake.next = end;
    if (end === filed.length) this.intake = undefined;
    return end - from;
  }

  /**
   * mustTakeIn tells whether the heap's top is not yet the index's minimum: the heap is empty, or
   * a bucket is being taken in and the top is not before its start.
   */
  private mustTakeIn(): boolean {
    const top = this.heap[0];
    if (top === undefined) return this.intake !== undefined || this.bucketOrder.length > 0;
    return this.intake !== undefined && top.keyMs >= this.intake.startMs;
  }

  /** heapify restores the heap order over every place of `heap` in O(n), copying the keys. */
  private heapify(): void {
    const heap = this.heap;
    this.reserve(heap.length);
    for (let at = 0; at < heap.length; at++) {
      this.keys[at] = heap[at]!.keyMs;
    }
    // The last place with a child is that of the last slot's parent.
    for (let at = Math.floor((heap.length - 2) / ARITY); at >= 0; at--) {
      this.siftDown(heap[at]!);
    }
  }

  /** removeTop takes the heap's top slot out of the heap (the caller says where it goes). */
  private removeTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length > 0) {
      last.at = 0;
      this.siftDown(last);
    }
  }

  /** pop drops the heap's top slot from the index. */
  private pop(): void {
    const top = this.heap[0];
    if (top === undefined) return;
    this.slots.delete(top.scope);
    top.at = LEFT;
    this.removeTop();
  }

  /** catchUp makes a lazy slot's key its entry (never earlier than the key): one re-key, wherever the slot is. */
  private catchUp(slot: Slot): void {
    slot.keyMs = slot.entryMs;
    slot.keyFence = slot.entryFence;
  }

  /**
   * rekey makes the lazy top slot's key its entry (never earlier than the key): it sinks in the
   * heap when the entry is before the horizon, else leaves the heap for its entry's bucket.
   */
  private rekey(slot: Slot): void {
    this.catchUp(slot);
    if (slot.keyMs < this.horizonMs) {
      this.siftDown(slot);
      return;
    }
    this.removeTop();
    this.enter(slot);
  }

  /** reserve grows `keys` to hold at least `length` places. */
  private reserve(length: number): void {
    if (length <= this.keys.length) return;
    let capacity = this.keys.length;
    while (capacity < length) capacity *= 2;
    const keys = new Float64Array(capacity);
    keys.set(this.keys);
    this.keys = keys;
  }

  /** place puts `slot` at heap place `at`, with its key. */
  private place(slot: Slot, at: number): void {
    this.heap[at] = slot;
    this.keys[at] = slot.keyMs;
    slot.at = at;
  }

  /** siftUp moves `slot` from its place up to where its key belongs. */
  private siftUp(slot: Slot): void {
    const heap = this.heap;
    const keys = this.keys;
    const keyMs = slot.keyMs;
    let at = slot.at;
    while (at > 0) {
      const parent = ((at - 1) / ARITY) | 0;
      const p = heap[parent]!;
      if (!before(keyMs, slot, keys[parent]!, p)) break;
      heap[at] = p;
      keys[at] = keys[parent]!;
      p.at = at;
      at = parent;
    }
    this.place(slot, at);
  }

  /** siftDown moves `slot` from its place down to where its key belongs. */
  private siftDown(slot: Slot): void {
    const heap = this.heap;
    const keys = this.keys;
    const n = heap.length;
    const keyMs = slot.keyMs;
    let at = slot.at;
    for (;;) {
      const first = ARITY * at + 1;
      if (first >= n) break;
      const end = Math.min(first + ARITY, n);
      let child = first;
      for (let c = first + 1; c < end; c++) {
        if (before(keys[c]!, heap[c]!, keys[child]!, heap[child]!)) child = c;
      }
      const c = heap[child]!;
      if (!before(keys[child]!, c, keyMs, slot)) break;
      heap[at] = c;
      keys[at] = keys[child]!;
      c.at = at;
      at = child;
    }
    this.place(slot, at);
  }

  /**
   * earliestKeyMs is the smallest key in the heap, or while the heap is empty the start of the
   * earliest bucket, in O(1) and with no move (undefined when the index is empty): never after the
   * earliest live deadline, since a slot's key is never after its entry's deadline and every
   * bucketed key is at or after its bucket's start. It may be a lazy slot's older deadline, a stale
   * slot's or a bucket's start, so a timer armed at it can fire early (`due` then finds nothing and
   * catches those slots up), never late. Unlike
   * `peek`, it re-keys nothing: a lazy slot moves when its old key comes due, once for all the
   * renewals made since, not soon after each renewal. With no slot left it is undefined even while
   * a bucket still holds stale references (a slot re-filed in an earlier bucket, then dropped):
   * there is nothing to wake for.
   */
  earliestKeyMs(): number | undefined {
    if (this.slots.size === 0) return undefined;
    const top = this.heap[0];
    const intake = this.intake;
    if (intake !== undefined)
      return top !== undefined && top.keyMs < intake.startMs ? top.keyMs : intake.startMs;
    if (top !== undefined) return top.keyMs;
    return this.bucketOrder.length > 0 ? this.bucketOrder[0]! * this.bucketMs : undefined;
  }

  /**
   * peek returns the live entry with the earliest deadline, dropping stale entries and re-keying
   * lazy slots on the way, at most `movesMax` of them. When that budget runs out with a lazy or
   * stale slot still on top, it returns that slot's key instead: a lower bound, never after the
   * earliest live deadline (so a timer armed at it fires early, never late), possibly naming an
   * older lease of the scope. The next call goes on where this one stopped. The buckets it takes in
   * are read whole, not counted: peek, unlike the leader's expiry scan, must reach the earliest
   * deadline however far away it is.
   */
  peek(
    isLive: (entry: DueLease) => boolean,
    movesMax: number = DEADLINE_INDEX_MOVES_MAX,
  ): DueLease | undefined {
    assertMovesMax(movesMax);
    let moves = 0;
    for (;;) {
      if (this.mustTakeIn()) {
        this.takeIn(this.intake ?? this.openIntake(), Infinity);
        continue;
      }
      const top = this.heap[0];
      if (top === undefined) return undefined;
      // A lazy slot is re-keyed before its entry is checked: a renewed lease is live far more
      // often than not, and its check costs a map lookup per re-key on the leader.
      const lazy = isLazy(top);
      if (!lazy) {
        const entry = keyOf(top);
        if (isLive(entry)) return entry;
      }
      if (moves === movesMax) return keyOf(top);
      moves++;
      if (lazy) this.rekey(top);
      else this.pop();
    }
  }

  /**
   * due returns up to `limit` live leases with `deadlineMs <= nowMs`, earliest first (ties by
   * scope), each once. Stale entries met on the way are dropped and lazy slots re-keyed, at most
   * `movesMax` of them; live ones stay in the index. When that budget runs out it returns the due
   * leases found so far: the earliest ones (possibly none), each at or after its deadline, and the
   * next call goes on. Each reference it reads of a bucket it takes in counts as a move too, so a
   * bucket that holds most leases (a grace gives them one deadline) is taken in over several calls.
   * A lease is never returned before its deadline: only a slot whose key is its entry is taken.
   */
  due(
    nowMs: number,
    limit: number,
    isLive: (entry: DueLease) => boolean,
    movesMax: number = DEADLINE_INDEX_MOVES_MAX,
  ): DueLease[] {
    assertMovesMax(movesMax);
    const found: DueLease[] = [];
    let moves = 0;
    while (found.length < limit) {
      if (this.mustTakeIn()) {
        // A bucket is taken in only once its start is due: until then the heap stays small.
        const startMs = this.intake?.startMs ?? this.bucketOrder[0]! * this.bucketMs;
        if (startMs > nowMs || moves >= movesMax) break;
        moves += this.takeIn(this.intake ?? this.openIntake(), movesMax - moves);
        continue;
      }
      const top = this.heap[0];
      if (top === undefined) break;
      if (top.keyMs > nowMs) break;
      const lazy = isLazy(top);
      if (!lazy) {
        const entry = keyOf(top);
        if (isLive(entry)) {
          this.pop();
          found.push(entry);
          continue;
        }
      }
      if (moves >= movesMax) break;
      moves++;
      if (lazy) this.rekey(top);
      else this.pop();
    }
    for (const entry of found) {
      this.pushAt(entry.scope, entry.fenceToken, entry.deadlineMs);
    }
    return found;
  }

  /** rebuild replaces the index with `entries` (the live leases, one per scope), in O(n); the horizon stays where it is. */
  rebuild(entries: DueLease[]): void {
    // The old slots leave the index: a caller that kept one looks its scope's new slot up.
    for (const slot of this.slots.values()) slot.at = LEFT;
    this.slots = new Map();
    this.heap = [];
    this.buckets = new Map();
    this.bucketOrder = [];
    this.intake = undefined;
    for (const entry of entries) {
      const slot = newSlot(entry.scope, entry.fenceToken, entry.deadlineMs);
      this.slots.set(slot.scope, slot);
      if (slot.keyMs < this.horizonMs) {
        slot.at = this.heap.length;
        this.heap.push(slot);
      } else {
        this.enter(slot);
      }
    }
    this.heapify();
  }
}

/** assertMovesMax asserts a work budget that lets every call make progress. */
function assertMovesMax(movesMax: number): void {
  assert(
    Number.isSafeInteger(movesMax) && movesMax >= 1,
    () => `deadline index moves budget ${movesMax} below 1`,
  );
}
