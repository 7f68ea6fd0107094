import { assert } from './assert';
import { packValue } from './codec';
import { LeadershipError } from './errors';
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
 * How the state stays fixed: the capture keeps the sorted scope names of that moment (the state
 * never reorders that array; it makes a new one when a scope is created) and the applied index,
 * term and clock. The state calls `beforeChange` before it changes a record; the first time a
 * record the capture still has to encode changes, the capture keeps its tuple as it was
 * (copy-on-write). Records created after the capture are not listed; records are never removed.
 *
 * A capture holds on to the state it was taken from, which a restore replaces but never changes,
 * so it stays valid across `LeadershipFsm.restore`. Call `release` when giving up on it early;
 * it releases itself once it returned the bytes.
 */
export class SnapshotCapture implements ChangeObserver {
  /** index is the applied index the capture describes. */
  readonly index: number;
  private readonly names: readonly string[];
  private readonly head: Uint8Array;
  /** preImages hold, for records changed after the capture and not yet encoded, their tuple as it was. */
  private readonly preImages = new Map<string, ScopeTuple>();
  private readonly chunks: Uint8Array[] = [];
  /** cursor is how many of `names` are encoded. */
  private cursor = 0;
  /** join copies the encoded parts into the snapshot's bytes, once every scope is encoded. */
  private join: Join | undefined;
  private bytes: Uint8Array | undefined;
  private released = false;

  /** constructor captures `state` as it is now (O(1) unless the sorted name index must be rebuilt). */
  constructor(private readonly state: FsmState) {
    this.index = state.lastAppliedIndex;
    this.names = state.sortedScopeNames();
    const root = packValue(snapshotRoot(state, []));
    // The root ends with the empty scopes array (one byte, 0x90); the real array header replaces it.
    assert(root[root.length - 1] === 0x90, () => `snapshot root does not end with an empty array`);
    this.head = concat([root.subarray(0, root.length - 1), arrayHeader(this.names.length)]);
    state.observe(this);
  }

  /**
   * encodeSlice encodes up to `scopesMax` more scopes, or once none remain copies up to
   * SNAPSHOT_JOIN_BYTES of them into the snapshot's bytes. It returns undefined until the bytes
   * are whole, then the whole snapshot's bytes (and on every call after). INVALID_ARGUMENT for a
   * `scopesMax` that is not a positive integer; an InvariantViolation once the capture was
   * released before it finished.
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
      if (!this.encodeScopes(scopesMax)) return undefined;
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

  /** encodeScopes encodes up to `scopesMax` more scopes; true once none remain. */
  private encodeScopes(scopesMax: number): boolean {
    const end = Math.min(this.names.length, this.cursor + scopesMax);
    const tuples: ScopeTuple[] = [];
    for (let i = this.cursor; i < end; i++) {
      const name = this.names[i]!;
      const kept = this.preImages.get(name);
      if (kept !== undefined) this.preImages.delete(name);
      tuples.push(kept ?? scopeTuple(this.state.scopes.get(name)!));
    }
    this.cursor = end;
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
    return this.cursor === this.names.length;
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
    if (this.preImages.has(name)) return;
    const at = this.position(name);
    if (at === -1 || at < this.cursor) return;
    this.preImages.set(name, scopeTuple(record));
  }

  /** position is the index of `name` in the captured names, or -1 when it was created later. */
  private position(name: string): number {
    let lo = 0;
    let hi = this.names.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.names[mid]!;
      if (at === name) return mid;
      if (at < name) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

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
