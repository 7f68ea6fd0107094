import type { Entry, Membership } from './types';

/**
 * ConfigurationLog tracks the membership in force: the newest config entry in the log, durable
 * or not (single-server changes take effect when appended, thesis §4.1), or else the one in the
 * snapshot. When the log is truncated past a config entry, the previous configuration returns.
 */
export class ConfigurationLog {
  private base: Membership;
  private entries: { index: number; membership: Membership }[] = [];

  /** constructor starts from the snapshot's membership and the config entries after it. */
  constructor(snapshotMembership: Membership, logEntries: readonly Entry[]) {
    this.base = snapshotMembership;
    for (const e of logEntries) {
      if (e.kind === 'config') this.entries.push({ index: e.index, membership: e.membership });
    }
  }

  /** current is the membership in force. */
  current(): Membership {
    return this.entries[this.entries.length - 1]?.membership ?? this.base;
  }

  /** previous is the membership before the newest config entry (the snapshot's when there is none). */
  previous(): Membership {
    return this.entries[this.entries.length - 2]?.membership ?? this.base;
  }

  /** lastIndex is the index of the newest config entry in the log (0 when none after the snapshot). */
  lastIndex(): number {
    return this.entries[this.entries.length - 1]?.index ?? 0;
  }

  /**
   * onAppend follows an append of `appended` (which replaced everything from its first index).
   * Config entries at or below `committed` are history that can never be truncated back to, so
   * only the newest of them is kept.
   */
  onAppend(appended: readonly Entry[], committed: number): void {
    const first = appended[0]?.index;
    if (first === undefined) return;
    while (this.lastIndex() >= first) this.entries.pop();
    for (const e of appended) {
      if (e.kind === 'config') this.entries.push({ index: e.index, membership: e.membership });
    }
    while (this.entries.length > 1 && this.entries[1]!.index <= committed) {
      this.base = this.entries[0]!.membership;
      this.entries.shift();
    }
  }

  /** restore starts over from a snapshot's membership. */
  restore(snapshotMembership: Membership): void {
    this.base = snapshotMembership;
    this.entries = [];
  }
}
