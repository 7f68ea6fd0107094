import { assert } from './assert';
import type { Entry, HardState, Membership, Snapshot, SnapshotMeta } from './types';
import { entrySizeBytes } from './types';

/**
 * RaftStorage is the read-only view of durable state the core needs. The runtime implements it
 * (an in-memory mirror of what it has made durable, so reads are synchronous), and updates it
 * only after a write is durable and before it calls `advance()`.
 *
 * Indexes: the log holds entries [firstIndex(), lastIndex()]; the latest snapshot covers
 * everything up to its index, which is at least firstIndex() - 1. Entries from firstIndex() up
 * to the snapshot index, when there are any, are a tail kept after compaction so that a
 * follower a little behind gets entries instead of a whole snapshot.
 */
export interface RaftStorage {
  /** initialHardState is the hard state persisted last (term 0, no vote, commit 0 when new). */
  initialHardState(): HardState;
  /** firstIndex is the index of the first entry still in the log (at most snapshot index + 1). */
  firstIndex(): number;
  /** lastIndex is the index of the last durable entry (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** term returns the term of the entry at `index`, or undefined when it is compacted or absent. The snapshot index answers with the snapshot term. */
  term(index: number): number | undefined;
  /** entries returns the durable entries in [lo, hi), at least one if any, at most `bytesMax` in total after the first. */
  entries(lo: number, hi: number, bytesMax: number): Entry[];
  /** snapshot returns the latest snapshot (index 0 with the bootstrap membership when none was taken). */
  snapshot(): Snapshot;
}

/**
 * MemoryStorage is a RaftStorage held in memory. The simulator uses it as "disk"; the runtime
 * uses it as the synchronous mirror of LevelDB. Writers call `append`, `setHardState`,
 * `installSnapshot` and `compact` after the matching durable write.
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: '', commit: 0 };
  private snap: Snapshot;
  /**
   * offset is the index just before log[0]: log[i] has index offset + 1 + i. Invariant: offset ≤
   * snap.meta.index, and when it is below, the log holds the snapshot's entry with its term.
   */
  private offset: number;
  private log: Entry[] = [];
  /** logBytes is the entrySizeBytes total of `log` (tail included). */
  private logBytes = 0;

  /** constructor starts from a snapshot: for a new cluster, index 0 and term 0 with the bootstrap membership. */
  constructor(snapshot: Snapshot) {
    this.snap = snapshot;
    this.offset = snapshot.meta.index;
  }

  /** bootstrap returns an empty storage whose configuration is `membership`. */
  static bootstrap(membership: Membership): MemoryStorage {
    return new MemoryStorage({ meta: { index: 0, term: 0, membership }, data: new Uint8Array(0) });
  }

  initialHardState(): HardState {
    return this.hardState;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.log.length;
  }

  term(index: number): number | undefined {
    if (index === this.snap.meta.index) return this.snap.meta.term;
    if (index <= this.offset) return undefined;
    return this.log[index - this.offset - 1]?.term;
  }

  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, () => {
      return `entries [${lo}, ${hi}) out of range [${this.firstIndex()}, ${this.lastIndex() + 1})`;
    });
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - this.offset - 1]!;
      bytes += entrySizeBytes(e);
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** bytes is the entrySizeBytes total of every entry still in the log, the tail included (for /status). */
  bytes(): number {
    return this.logBytes;
  }

  /** allEntries returns every entry still in the log, the tail before the snapshot index included (for tests, restarts and the simulator's checkers). */
  allEntries(): readonly Entry[] {
    return this.log;
  }

  /** setHardState records a durable hard state. */
  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /**
   * append records durable entries. They must be contiguous; an entry at an index the log
   * already holds replaces it and everything after it (the core only sends such entries after it
   * found a conflict).
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.snap.meta.index && first <= this.lastIndex() + 1, () => {
      return `append at ${first} leaves a gap or rewrites the snapshot ${this.snap.meta.index}: log is [${this.firstIndex()}, ${this.lastIndex()}]`;
    });
    for (let i = 1; i < entries.length; i++) {
      assert(
        entries[i]!.index === first + i,
        () => `append not contiguous at ${entries[i]!.index}, want ${first + i}`,
      );
    }
    const keep = first - this.offset - 1;
    this.logBytes -= bytesOf(this.log, keep, this.log.length);
    this.log.length = keep;
    this.log.push(...entries);
    this.logBytes += bytesOf(entries, 0, entries.length);
  }

  /**
   * installSnapshot replaces the log by a snapshot received from the leader. Entries after the
   * snapshot index are kept when the log has the snapshot's last entry with the same term.
   */
  installSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    assert(
      index >= this.snap.meta.index,
      () => `snapshot ${index} older than current ${this.snap.meta.index}`,
    );
    if (this.term(index) === term && index <= this.lastIndex()) {
      this.log = this.log.slice(index - this.offset);
    } else {
      this.log = [];
    }
    this.logBytes = bytesOf(this.log, 0, this.log.length);
    this.offset = index;
    this.snap = snapshot;
  }

  /**
   * createSnapshot records a snapshot the local state machine took at `meta.index` (which must
   * be in the log) and drops the log entries it covers, keeping the rest and the last entries up
   * to the snapshot index: at most `tailEntries` of them, together at most `tailBytesMax` bytes
   * (those already dropped stay dropped).
   */
  createSnapshot(meta: SnapshotMeta, data: Uint8Array, tailEntries = 0, tailBytesMax = Infinity): void {
    assert(meta.index >= this.snap.meta.index && meta.index <= this.lastIndex(), () => {
      return `createSnapshot(${meta.index}) out of range [${this.snap.meta.index}, ${this.lastIndex()}]`;
    });
    assert(this.term(meta.index) === meta.term, () => {
      return `createSnapshot(${meta.index}) term ${meta.term} differs from log term ${String(this.term(meta.index))}`;
    });
    assert(
      Number.isSafeInteger(tailEntries) && tailEntries >= 0,
      () => `tailEntries(${tailEntries}) negative`,
    );
    let offset = meta.index;
    for (let tailBytes = 0; offset > this.offset && meta.index - offset < tailEntries; offset--) {
      tailBytes += entrySizeBytes(this.log[offset - this.offset - 1]!);
      if (tailBytes > tailBytesMax) break;
    }
    this.logBytes -= bytesOf(this.log, 0, offset - this.offset);
    this.log = this.log.slice(offset - this.offset);
    this.offset = offset;
    this.snap = { meta, data };
  }
}

/** bytesOf is the entrySizeBytes total of entries[from, to). */
function bytesOf(entries: readonly Entry[], from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) bytes += entrySizeBytes(entries[i]!);
  return bytes;
}
