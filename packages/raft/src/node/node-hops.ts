import type { Entry, NodeId, Ready } from '../core/index';
import { hopLedger } from '../transport/index';

/**
 * NodeHops records a RaftNode's steps in the process's hop ledger (see HOP_STEPS): what a Ready
 * starts (a commit advance, becoming leader, the appends with entries handed to the transport), the
 * end of each synced write, and the commits seen while a write is in flight. Call its methods only
 * when `hopLedger.enabled`.
 */
export class NodeHops {
  /** commitRecorded is the highest committed index the ledger was told of (each advance once). */
  private commitRecorded = 0;

  constructor(private readonly id: NodeId) {}

  /** ready notes what Ready `rd` starts; `term` is the node's term before it. */
  ready(rd: Ready, term: number): void {
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) this.committed(lastCommitted);
    if (rd.softState?.role === 'leader') hopLedger.record('leader', this.id, 0, rd.hardState?.term ?? term);
    for (const m of rd.earlyMessages) {
      const last = m.type === 'append' ? m.entries[m.entries.length - 1] : undefined;
      if (last !== undefined) hopLedger.record('append.queued', this.id, last.index, m.term, m.to);
    }
  }

  /** persisted notes that the node's synced write of `entries` ended (nothing when there were none). */
  persisted(entries: readonly Entry[]): void {
    const last = entries[entries.length - 1];
    if (last !== undefined) hopLedger.record('persist', this.id, last.index, last.term);
  }

  /**
   * peerLost notes that the transport saw the connection to or from `peer` fail and, when
   * `leaderLost` (`peer` is the leader this follower follows), that the node stops naming it and
   * campaigns after its fast-failover delay.
   */
  peerLost(peer: NodeId, leaderLost: boolean, term: number): void {
    hopLedger.record('peer.lost', this.id, 0, term, peer);
    if (leaderLost) hopLedger.record('leader.unreachable', this.id, 0, term, peer);
  }

  /** committed notes that the node was handed committed entries up to `last` to apply. */
  committed(last: Entry): void {
    if (last.index <= this.commitRecorded) return;
    this.commitRecorded = last.index;
    hopLedger.record('commit', this.id, last.index, last.term);
  }
}
