import { assert } from './assert';
import type { RaftStorage } from './storage';
import type { Entry, Snapshot } from './types';
import { entrySizeBytes } from './types';

/**
 * RaftLog is the log as the core sees it: the durable part in RaftStorage plus an unstable
 * tail (and possibly a received snapshot) that the runtime has not yet made durable.
 *
 * Invariants: applied ≤ committed ≤ lastIndex(); committed never moves back; an unstable
 * snapshot, when present, covers everything before `unstableOffset`.
 */
export class RaftLog {
  /** committed is the highest index known to be committed. */
  committed: number;
  /** applied is the highest index handed to the state machine and acknowledged by advance(). */
  applied: number;
  private unstableSnapshot: Snapshot | undefined;
  /** unstableOffset is the index of unstableEntries[0]. */
  private unstableOffset: number;
  private unstableEntries: Entry[] = [];

  /**
   * constructor loads the durable state; `onAppend` is told of every append (after it happened),
   * so the core can keep the configuration in step with the log.
   */
  constructor(
    private readonly storage: RaftStorage,
    applied: number,
    private readonly onAppend: (entries: readonly Entry[]) => void,
  ) {
    const hard = storage.initialHardState();
    // Not firstIndex() - 1: the log may keep a tail of entries up to the snapshot index.
    const snapshotIndex = storage.snapshot().meta.index;
    this.unstableOffset = storage.lastIndex() + 1;
    this.committed = Math.max(hard.commit, snapshotIndex);
    assert(this.committed <= storage.lastIndex(), () => {
      return `persisted commit(${hard.commit}) beyond last index(${storage.lastIndex()})`;
    });
    this.applied = Math.max(applied, snapshotIndex);
    assert(this.applied <= this.committed, () => `applied(${applied}) beyond commit(${this.committed})`);
  }

  /** firstIndex is the first index whose entry is available. */
  firstIndex(): number {
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.meta.index + 1;
    return this.storage.firstIndex();
  }

  /** lastIndex is the last index in the log, durable or not. */
  lastIndex(): number {
    if (this.unstableEntries.length > 0) return this.unstableOffset + this.unstableEntries.length - 1;
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  /** lastTerm is the term of the last entry (or of the snapshot when the log is empty). */
  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, () => `term of last index ${this.lastIndex()} unavailable`);
    return t;
  }

  /** term returns the term at `index`, or undefined when compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index >= this.unstableOffset) return this.unstableEntries[index - this.unstableOffset]?.term;
    if (this.unstableSnapshot !== undefined) {
      return index === this.unstableSnapshot.meta.index ? this.unstableSnapshot.meta.term : undefined;
    }
    if (index > this.storage.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  /** matchTerm is true when the log holds an entry at `index` with `term`. */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** isUpToDate is the §5.4.1 election restriction: is (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * entries returns entries in [lo, hi), at most `bytesMax` after the first, or undefined when
   * any of them is compacted.
   */
  entries(lo: number, hi: number, bytesMax: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    assert(hi <= this.lastIndex() + 1, () => `entries hi(${hi}) beyond last index(${this.lastIndex()})`);
    if (lo >= hi) return [];
    const out: Entry[] = [];
    let bytes = 0;
    if (lo < this.unstableOffset) {
      const stored = this.storage.entries(lo, Math.min(hi, this.unstableOffset), bytesMax);
      for (const e of stored) bytes += entrySizeBytes(e);
      out.push(...stored);
      if (out.length < Math.min(hi, this.unstableOffset) - lo) return out;
    }
    for (let i = Math.max(lo, this.unstableOffset); i < hi; i++) {
      const e = this.unstableEntries[i - this.unstableOffset]!;
      bytes += entrySizeBytes(e);
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(e);
    }
    return out;
  }

  /**
   * append adds entries at the end, or overwrites from entries[0].index on (the caller found the
   * conflict). It never rewrites a committed entry.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.committed, () => `append at ${first} would overwrite committed(${this.committed})`);
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first === this.unstableOffset + this.unstableEntries.length) {
      this.unstableEntries.push(...entries);
    } else if (first <= this.unstableOffset) {
      // Replaces part of the durable log: the runtime's append overwrites it from `first`.
      this.unstableOffset = first;
      this.unstableEntries = [...entries];
    } else {
      this.unstableEntries.length = first - this.unstableOffset;
      this.unstableEntries.push(...entries);
    }
    this.onAppend(entries);
  }

  /**
   * maybeAppend is the follower side of AppendEntries: if the log matches (prevIndex, prevTerm),
   * it appends what is new (truncating only from the first conflicting entry, never for entries
   * it already has), advances commit to min(leaderCommit, last new index) and returns that last
   * new index; otherwise it returns undefined.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    leaderCommit: number,
    entries: readonly Entry[],
  ): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    let firstNew = entries.length;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (!this.matchTerm(e.index, e.term)) {
        firstNew = i;
        break;
      }
    }
    if (firstNew < entries.length) {
      const conflictIndex = entries[firstNew]!.index;
      assert(conflictIndex > this.committed, () => {
        return `entry ${conflictIndex} conflicts with committed(${this.committed})`;
      });
      this.append(entries.slice(firstNew));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /**
   * findConflictByTerm returns the largest index ≤ `index` whose term is ≤ `term` (or the first
   * unavailable index, where the search must stop). It serves fast log backtracking.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    const floor = this.firstIndex() - 1;
    while (i > floor) {
      const t = this.term(i);
      if (t === undefined || t <= term) return i;
      i--;
    }
    return i;
  }

  /** commitTo advances the commit index; it never moves back. */
  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `commitTo(${index}) beyond last index(${this.lastIndex()})`);
    this.committed = index;
  }

  /** restore replaces the log by a received snapshot (it becomes the unstable snapshot). */
  restore(snapshot: Snapshot): void {
    assert(snapshot.meta.index > this.committed, () => {
      return `restore(${snapshot.meta.index}) not beyond committed(${this.committed})`;
    });
    this.unstableSnapshot = snapshot;
    this.unstableOffset = snapshot.meta.index + 1;
    this.unstableEntries = [];
    this.committed = snapshot.meta.index;
  }

  /** pendingSnapshot is the received snapshot not yet durable. */
  pendingSnapshot(): Snapshot | undefined {
    return this.unstableSnapshot;
  }

  /** pendingEntries are the entries not yet durable. */
  pendingEntries(): readonly Entry[] {
    return this.unstableEntries;
  }

  /** stableTo marks entries up to (index, term) durable; a mismatch means they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    if (index < this.unstableOffset) return;
    const e = this.unstableEntries[index - this.unstableOffset];
    if (e === undefined || e.term !== term) return;
    this.unstableEntries = this.unstableEntries.slice(index - this.unstableOffset + 1);
    this.unstableOffset = index + 1;
  }

  /** stableSnapshotTo marks the unstable snapshot at `index` durable. */
  stableSnapshotTo(index: number): void {
    if (this.unstableSnapshot?.meta.index === index) this.unstableSnapshot = undefined;
  }

  /** stableLastIndex is the last index already durable (what a leader may count for itself). */
  stableLastIndex(): number {
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.meta.index - 1;
    return this.unstableOffset - 1;
  }

  /** hasNextCommittedEntries is true when committed entries await applying. */
  hasNextCommittedEntries(): boolean {
    return this.unstableSnapshot === undefined && this.committed > this.applied;
  }

  /** nextCommittedEntries returns committed, unapplied entries, at most `bytesMax` after the first. */
  nextCommittedEntries(bytesMax: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const entries = this.entries(this.applied + 1, this.committed + 1, bytesMax);
    assert(
      entries !== undefined,
      () => `committed entries from ${this.applied + 1} compacted before applying`,
    );
    return entries;
  }

  /** appliedTo records that the state machine applied up to `index`. */
  appliedTo(index: number): void {
    if (index === 0) return;
    assert(index >= this.applied && index <= this.committed, () => {
      return `applied(${index}) out of range [prev(${this.applied}), commit(${this.committed})]`;
    });
    this.applied = index;
  }
}
