import type { Entry } from '../../src/core/index';
import { entryDigest } from './entry-digest';

/** DurableLogReader is the part of a node's storage the durability checker reads (MemoryStorage has it). */
export interface DurableLogReader {
  /** firstIndex is the first index still in the log; everything below is covered by the snapshot. */
  firstIndex(): number;
  /** term is the term at `index`, or undefined when absent or compacted (the snapshot index answers). */
  term(index: number): number | undefined;
}

/**
 * LogView mirrors one node's log as (term, digest) pairs so that the checkers can compare logs
 * without holding entries. The simulator keeps it equal to the node's durable log plus the
 * entries the node has handed out in Ready but not yet made durable; right after `ready()` it is
 * exactly the core's log. Indexes: the view holds [snapshotIndex + 1, lastIndex()], and
 * snapshotIndex answers with snapshotTerm.
 */
export class LogView {
  private snapshotIndexValue: number;
  private snapshotTermValue: number;
  /** terms[k] and digests[k] describe the entry at snapshotIndex + 1 + k. */
  private terms: number[] = [];
  private digests: number[] = [];

  /** constructor starts an empty view after a snapshot at (snapshotIndex, snapshotTerm). */
  constructor(snapshotIndex = 0, snapshotTerm = 0) {
    this.snapshotIndexValue = snapshotIndex;
    this.snapshotTermValue = snapshotTerm;
  }

  /** fromEntries builds a view of a snapshot point followed by `entries` (contiguous, starting at snapshotIndex + 1). */
  static fromEntries(snapshotIndex: number, snapshotTerm: number, entries: readonly Entry[]): LogView {
    const view = new LogView(snapshotIndex, snapshotTerm);
    view.append(entries);
    return view;
  }

  /** snapshotIndex is the index the view's snapshot covers (0 when none). */
  get snapshotIndex(): number {
    return this.snapshotIndexValue;
  }

  /** lastIndex is the index of the last entry, or the snapshot index when empty. */
  lastIndex(): number {
    return this.snapshotIndexValue + this.terms.length;
  }

  /** term is the term at `index`, the snapshot term at the snapshot index, undefined elsewhere. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndexValue) return this.snapshotTermValue;
    if (index < this.snapshotIndexValue) return undefined;
    return this.terms[index - this.snapshotIndexValue - 1];
  }

  /** digest is the entry digest at `index`, undefined when absent or compacted. */
  digest(index: number): number | undefined {
    if (index <= this.snapshotIndexValue) return undefined;
    return this.digests[index - this.snapshotIndexValue - 1];
  }

  /**
   * append overlays contiguous entries: the first may replace an existing suffix, exactly as
   * MemoryStorage.append does. It throws when the entries leave a gap or reach below the snapshot.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= this.snapshotIndexValue) {
      throw new Error(
        `log view: entries from ${first.index} rewrite the compacted prefix (snapshot at ${this.snapshotIndexValue}, log [${this.snapshotIndexValue + 1}, ${this.lastIndex()}])`,
      );
    }
    if (first.index > this.lastIndex() + 1) {
      throw new Error(
        `log view: entries from ${first.index} leave a gap after the log [${this.snapshotIndexValue + 1}, ${this.lastIndex()}]`,
      );
    }
    const keep = first.index - this.snapshotIndexValue - 1;
    this.terms.length = keep;
    this.digests.length = keep;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      if (e.index !== first.index + k) throw new Error(`log view: entries not contiguous at ${e.index}`);
      this.terms.push(e.term);
      this.digests.push(entryDigest(e));
    }
  }

  /** installSnapshot mirrors MemoryStorage.installSnapshot: keep the suffix only when the snapshot's last entry matches. */
  installSnapshot(index: number, term: number): void {
    if (index > this.snapshotIndexValue && this.term(index) === term && index <= this.lastIndex()) {
      const drop = index - this.snapshotIndexValue;
      this.terms = this.terms.slice(drop);
      this.digests = this.digests.slice(drop);
    } else if (index !== this.snapshotIndexValue || this.term(index) !== term) {
      this.terms = [];
      this.digests = [];
    }
    this.snapshotIndexValue = index;
    this.snapshotTermValue = term;
  }

  /** compact drops the entries up to `index` (which must be in the view), as MemoryStorage.createSnapshot does. */
  compact(index: number): void {
    const term = this.term(index);
    if (term === undefined || index > this.lastIndex()) {
      throw new Error(
        `log view: compact(${index}) outside [${this.snapshotIndexValue}, ${this.lastIndex()}]`,
      );
    }
    const drop = index - this.snapshotIndexValue;
    this.terms = this.terms.slice(drop);
    this.digests = this.digests.slice(drop);
    this.snapshotIndexValue = index;
    this.snapshotTermValue = term;
  }
}
