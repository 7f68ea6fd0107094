import { assert } from './assert';
import { packValue } from './codec';
import { LeadershipError } from './errors';
import { NameMerge } from './name-merge';
import { SNAPSHOT_JOIN_BYTES, SNAPSHOT_SLICE_SCOPES } from './limits';
import type { ScopeTuple } from './snapshot';
import { scopeTuple, snapshotRoot } from './snapshot';
import type { ChangeObserver, FsmState, ScopeRecord } from './state';

/**
 * SnapshotCapture is the state at one applied index, taken in O(1) and encoded a slice at a time
 * while later entries keep applying: a runtime can snapshot 100,000 leases without stopping its
 * event loop for the whole encoding. The bytes it returns are exactly `encodeSnapshot` of the
 * state at the capture's index (DESIGN.md invariant 3: byte-identical to a replica that applied
 * up to that index).
 *
 * How the state stays fixed: the capture keeps the scope names of that moment — the state's
 * sorted names (the state never reorders that array; it makes a new one when it sorts again) and
 * a copy of the names created since — and the applied index, term and clock. The state calls
 * `beforeChange` before it changes a record; the first time a record the capture still has to
 * encode changes, the capture keeps its tuple as it was (copy-on-write). Records created after
 * the capture are not listed; records are never removed.
 *
 * How the capture stays O(1): the names created since the state last sorted its names (30,000
 * during a fill of 100,000 leases) are sorted in the first slices, a run of up to 4 × `scopesMax`
 * per slice, and merged with the sorted ones as they are encoded (NameMerge); once every scope
 * is encoded, the state adopts the merged names as its sorted index. Sorting and merging them
 * in the capture's one turn took 60–90 ms.
 *
 * A capture holds on to the state it was taken from, which a restore replaces but never changes,
 * so it stays valid across `LeadershipFsm.restore`. Call `release` when giving up on it early;
 * it releases itself once it returned the bytes.
 */
export class SnapshotCapture implements ChangeObserver {
  /** index is the applied index the capture describes. */
  readonly index: number;
  /** sorted are the state's sorted scope names at the capture. */
  private readonly sorted: readonly string[];
  /** added are the names of the scopes created since `sorted` was sorted, in creation order. */
  private readonly added: readonly string[];
  /** runs are `added`, sorted a run of up to SORT_RUN_SCOPES × `scopesMax` names per slice. */
  private readonly runs: string[][] = [];
  /** addedSorted is how many of `added` are in `runs`. */
  private addedSorted = 0;
  /** merge walks `sorted` and `runs` in byte order once every run is sorted (the encoding order). */
  private merge: NameMerge | undefined;
  /** merged are the names encoded so far, in order, when there are `added` ones (the state adopts them). */
  private merged: string[] | undefined;
  private readonly head: Uint8Array;
  /** preImages hold, for records changed after the capture and not yet encoded, their tuple as it was. */
  private readonly preImages = new Map<string, ScopeTuple>();
  private readonly chunks: Uint8Array[] = [];
  /** cursor is how many scopes are encoded. */
  private cursor = 0;
  /** join copies the encoded parts into the snapshot's bytes, once every scope is encoded. */
  private join: Join | undefined;
  private bytes: Uint8Array | undefined;
  private released = false;

  /** constructor captures `state` as it is now: O(k), a copy of the k names created since the last sort. */
  constructor(private readonly state: FsmState) {
    this.index = state.lastAppliedIndex;
    const { sorted, added } = state.scopeNamesToCapture();
    this.sorted = sorted;
    this.added = added;
    const root = packValue(snapshotRoot(state, []));
    // The root ends with the empty scopes array (one byte, 0x90); the real array header replaces it.
    assert(root[root.length - 1] === 0x90, () => `snapshot root does not end with an empty array`);
    this.head = concat([root.subarray(0, root.length - 1), arrayHeader(sorted.length + added.length)]);
    state.observe(this);
  }

  /**
   * encodeSlice sorts a run of up to SORT_RUN_SCOPES × `scopesMax` of the names created since the
   * state last sorted its names, or once they are sorted encodes up to `scopesMax` more scopes, or
   * once none remain copies up to SNAPSHOT_JOIN_BYTES of them into the snapshot's bytes. It returns
   * undefined until the bytes are whole, then the whole snapshot's bytes (and on every call after).
   * INVALID_ARGUMENT for a `scopesMax` that is not a positive integer; an InvariantViolation once
   * the capture was released before it finished.
   */
  encodeSlice(scopesMax: number = SNAPSHOT_SLICE_SCOPES): Uint8Array | undefined {
    if (this.bytes !== undefined) return this.bytes;
    if (!Number.isSafeInteger(scopesMax) || scopesMax < 1) {
      throw new LeadershipError(
        'INVALID_ARGUMENT',
        `scopesMax is ${scopesMax}; it must be a positive integer`,
        {
          field: 'scopesMax',
        },
      );
    }
    assert(!this.released, () => `encodeSlice on a released snapshot capture at index ${this.index}`);
    if (this.join === undefined) {
      if (this.merge === undefined && !this.sortRun(scopesMax)) return undefined;
      if (!this.encodeScopes(scopesMax)) return undefined;
      if (this.merged !== undefined) this.state.adoptSortedNames(this.sorted, this.added.length, this.merged);
      this.join = new Join([this.head, ...this.chunks]);
      this.chunks.length = 0;
      // Every scope is encoded: no record's change matters any more.
      this.stopObserving();
    }
    if (!this.join.copy(SNAPSHOT_JOIN_BYTES)) return undefined;
    this.bytes = this.join.out;
    this.release();
    return this.bytes;
  }

  /**
   * sortRun sorts the next run of up to SORT_RUN_SCOPES × `scopesMax` added names (a slice of its
   * own), or once all are sorted starts the merge: true when the slice may go on to encode.
   */
  private sortRun(scopesMax: number): boolean {
    if (this.addedSorted < this.added.length) {
      // Allocated here, not in the capture's turn: 100,000 slots cost 3–4 ms.
      this.merged ??= new Array<string>(this.sorted.length + this.added.length);
      const end = Math.min(this.added.length, this.addedSorted + SORT_RUN_SCOPES * scopesMax);
      this.runs.push(this.added.slice(this.addedSorted, end).sort());
      this.addedSorted = end;
      return false;
    }
    this.merge = new NameMerge([this.sorted, ...this.runs]);
    return true;
  }

  /** encodeScopes encodes up to `scopesMax` more scopes; true once none remain. */
  private encodeScopes(scopesMax: number): boolean {
    const merge = this.merge!;
    const tuples: ScopeTuple[] = [];
    for (let n = 0; n < scopesMax; n++) {
      const name = merge.next();
      if (name === undefined) break;
      if (this.merged !== undefined) this.merged[this.cursor] = name;
      this.cursor++;
      const kept = this.preImages.get(name);
      if (kept !== undefined) this.preImages.delete(name);
      tuples.push(kept ?? scopeTuple(this.state.scopes.get(name)!));
    }
    if (tuples.length > 0) {
      // The slice is packed as one array; its elements' bytes are what the whole array holds.
      const packed = packValue(tuples);
      const header = arrayHeader(tuples.length);
      assert(
        header.every((byte, i) => packed[i] === byte),
        () => `a snapshot slice of ${tuples.length} scopes does not start with its array header`,
      );
      this.chunks.push(packed.subarray(header.length));
    }
    if (merge.peek() !== undefined) return false;
    const total = this.sorted.length + this.added.length;
    assert(this.cursor === total, () => `a snapshot capture encoded ${this.cursor} of ${total} scopes`);
    return true;
  }

  /** release stops the capture from keeping records as they were; it cannot encode further. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.stopObserving();
  }

  private stopObserving(): void {
    this.preImages.clear();
    this.state.unobserve(this);
  }

  /** beforeChange keeps `record` as it is, if this capture lists it and has not encoded it yet. */
  beforeChange(record: ScopeRecord): void {
    const name = record.name;
    if (this.preImages.has(name) || !this.mayStillEncode(name)) return;
    this.preImages.set(name, scopeTuple(record));
  }

  /**
   * mayStillEncode tells whether `name` may be a scope this capture lists and has not encoded.
   * While the added names are sorted, nothing is encoded yet, and a name may be one of them:
   * keeping the tuple of a scope created after the capture costs a copy, never a wrong byte (it
   * is never read). Once they are merged, the names not encoded yet are those from the merge's
   * next one on.
   */
  private mayStillEncode(name: string): boolean {
    const merge = this.merge;
    if (merge === undefined) return true;
    const next = merge.peek();
    return next !== undefined && name >= next && merge.has(name);
  }
}

/**
 * SORT_RUN_SCOPES is how many names one slice sorts, in units of its `scopesMax`: sorting a name
 * costs a fraction of encoding a scope, and fewer runs make the merge cheaper per name.
 */
const SORT_RUN_SCOPES = 4;

/** arrayHeader is the msgpack header of an array of `length` elements, as msgpackr writes it (the shortest). */
function arrayHeader(length: number): Uint8Array {
  if (length < 0x10) return Uint8Array.of(0x90 | length);
  if (length < 0x10000) return Uint8Array.of(0xdc, length >>> 8, length & 0xff);
  return Uint8Array.of(0xdd, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const join = new Join(parts);
  join.copy(Infinity);
  return join.out;
}

/** Join copies parts into one array a bounded number of bytes at a time. */
class Join {
  readonly out: Uint8Array;
  /** part is the index of the part being copied; offset how much of it is copied already. */
  private part = 0;
  private offset = 0;
  private at = 0;

  constructor(private readonly parts: readonly Uint8Array[]) {
    let total = 0;
    for (const p of parts) total += p.length;
    this.out = new Uint8Array(total);
  }

  /** copy copies up to `bytesMax` more bytes; true once every part is copied. */
  copy(bytesMax: number): boolean {
    let budget = bytesMax;
    while (this.part < this.parts.length && budget > 0) {
      const p = this.parts[this.part]!;
      const n = Math.min(budget, p.length - this.offset);
      this.out.set(p.subarray(this.offset, this.offset + n), this.at);
      this.at += n;
      this.offset += n;
      budget -= n;
      if (this.offset === p.length) {
        this.part++;
        this.offset = 0;
      }
    }
    return this.part === this.parts.length;
  }
}
