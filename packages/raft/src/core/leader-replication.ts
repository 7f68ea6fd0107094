import type { RaftConfig } from './config';
import type { AppendResponse, HeartbeatResponse } from './messages';
import { isMember, members, quorumIndex, tallyVotes } from './membership';
import type { Outbox } from './outbox';
import { Progress } from './progress';
import type { RaftLog } from './raft-log';
import type { Membership, NodeId, Snapshot } from './types';

/** ProgressStatus is the leader's view of one member, for status pages and tests. */
export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
}

/**
 * LeaderReplication is the state a node has only while it leads one term: a Progress per
 * member, and the sending of appends, snapshots and heartbeats that follows from it. It exists
 * from becoming leader to stepping down, so no leader-only state outlives a term.
 */
export class LeaderReplication {
  private readonly progress = new Map<NodeId, Progress>();

  constructor(
    private readonly id: NodeId,
    private readonly term: number,
    private readonly cfg: RaftConfig,
    private readonly log: RaftLog,
    private readonly outbox: Outbox,
    private readonly trace: (line: string) => void,
  ) {}

  /** sync gives every member a Progress (probing from the leader's last index) and drops removed ones. */
  sync(membership: Membership): void {
    const next = this.log.lastIndex() + 1;
    for (const id of members(membership)) {
      if (!this.progress.has(id)) this.progress.set(id, new Progress(next, this.cfg.inflightMessagesMax));
    }
    for (const id of [...this.progress.keys()]) {
      if (!isMember(membership, id)) this.progress.delete(id);
    }
  }

  /**
   * replicateOptimistically starts each of `voters` (the members that granted this leader their
   * vote) in replicate state at the leader's next index, before it acknowledged anything, so the
   * entries proposed after the no-op go out at once instead of waiting for a probe's answer (one
   * follower round trip and fsync). Call it before the no-op is appended. A voter's grant says
   * its log is not ahead of ours in (term, index) order; it may still be shorter or divergent,
   * which the log matching check of every append catches: its first rejection falls back to
   * probe with the hint (Progress.maybeDecrTo). Members that did not vote for us probe as usual.
   */
  replicateOptimistically(voters: Iterable<NodeId>): void {
    for (const id of voters) if (id !== this.id) this.progress.get(id)?.replicateOptimistically();
  }

  /**
   * restart gives member `id` a fresh Progress (match 0, probing from the leader's last index):
   * it now runs on another store, so what its previous store acknowledged no longer counts.
   */
  restart(id: NodeId): void {
    if (this.progress.has(id))
      this.progress.set(id, new Progress(this.log.lastIndex() + 1, this.cfg.inflightMessagesMax));
  }

  /** get returns the Progress of member `id`. */
  get(id: NodeId): Progress | undefined {
    return this.progress.get(id);
  }

  /** selfPersisted records that the leader's own log is durable up to `index` (it counts only then). */
  selfPersisted(index: number): void {
    this.progress.get(this.id)?.maybeUpdate(index);
  }

  /** isCaughtUp is true when member `id` holds the leader's whole log. */
  isCaughtUp(id: NodeId): boolean {
    return this.progress.get(id)?.match === this.log.lastIndex();
  }

  /** maybeCommit advances commit to the quorum index if that entry is of this term (§5.4.2, Figure 8). */
  maybeCommit(membership: Membership): boolean {
    const index = quorumIndex(membership, (id) => this.progress.get(id)?.match ?? 0);
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    this.log.commitTo(index);
    return true;
  }

  /** bcastAppend sends each other member what it lacks (an empty append carries the commit index). */
  bcastAppend(membership: Membership): void {
    for (const id of members(membership)) if (id !== this.id) this.sendAppend(id);
  }

  /** bcastHeartbeat sends each other member a heartbeat carrying min(commit, its match) and the read round. */
  bcastHeartbeat(membership: Membership, readSeq: number): void {
    for (const id of members(membership)) {
      if (id === this.id) continue;
      const commit = Math.min(this.progress.get(id)?.match ?? 0, this.log.committed);
      this.outbox.push({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, readSeq });
    }
  }

  /** sendTimeoutNow tells the transfer target to campaign at once. */
  sendTimeoutNow(to: NodeId): void {
    this.outbox.push({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  /** sendAppend sends the next entries (or a snapshot) to `to`; it returns whether it sent anything. */
  sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    const entries =
      prevLogTerm === undefined
        ? undefined
        : this.log.entries(pr.next, this.log.lastIndex() + 1, this.cfg.messageBytesMax);
    if (prevLogTerm === undefined || entries === undefined) return this.sendSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = this.log.committed;
    this.outbox.push({
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      prevLogIndex,
      prevLogTerm,
      entries,
      commit,
    });
    const last = entries[entries.length - 1];
    if (pr.state === 'replicate' && last !== undefined) {
      pr.next = last.index + 1;
      pr.inflights.add(last.index);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snapshot: Snapshot = this.log.pendingSnapshot() ?? this.cfg.storage.snapshot();
    this.trace(`sending snapshot at index ${snapshot.meta.index} to ${to} (next ${pr.next} is compacted)`);
    pr.becomeSnapshot(snapshot.meta.index);
    this.outbox.push({ type: 'snapshot', from: this.id, to, term: this.term, snapshot });
    return true;
  }

  /**
   * handleAppendResponse updates the sender's progress and sends what it lacks next. It returns
   * true when the acknowledgement advanced the commit index (the caller then broadcasts it).
   */
  handleAppendResponse(m: AppendResponse, membership: Membership): boolean {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return false;
    pr.recentActive = true;
    if (m.reject) {
      const probeHint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
      if (pr.maybeDecrTo(m.index, probeHint)) this.sendAppend(m.from);
      return false;
    }
    if (m.index > this.log.lastIndex()) {
      this.trace(
        `ignored appendResponse from ${m.from} for ${m.index}, beyond our last ${this.log.lastIndex()}`,
      );
      return false;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return false;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    const committed = this.maybeCommit(membership);
    if (!committed && wasPaused) this.sendAppend(m.from);
    // Fill the window with whatever else the follower lacks.
    for (let i = 0; i < this.cfg.inflightMessagesMax; i++) {
      if (!this.sendAppend(m.from, false)) break;
    }
    return committed;
  }

  /**
   * handleHeartbeatResponse unpauses the sender, resends what it lacks, and records the read
   * round it acknowledged; it returns true when that round is new (reads may be released).
   */
  handleHeartbeatResponse(m: HeartbeatResponse, readSeqMax: number): boolean {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return false;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.readSeq <= pr.readSeqAcked || m.readSeq > readSeqMax) return false;
    pr.readSeqAcked = m.readSeq;
    return true;
  }

  /** readQuorumSeq is the newest read round a quorum acknowledged (the leader counts `selfSeq`). */
  readQuorumSeq(membership: Membership, selfSeq: number): number {
    return quorumIndex(membership, (id) =>
      id === this.id ? selfSeq : (this.progress.get(id)?.readSeqAcked ?? 0),
    );
  }

  /** quorumActive tells whether a quorum was heard from since the last call (check-quorum), and starts a new round. */
  quorumActive(membership: Membership): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.recentActive) active.set(id, true);
      pr.recentActive = false;
    }
    return tallyVotes(membership, active) === 'won';
  }

  /** tick retries a snapshot that got no answer for two election timeouts (it was likely lost). */
  tick(): void {
    for (const pr of this.progress.values()) {
      if (pr.state === 'snapshot' && ++pr.snapshotTicks > 2 * this.cfg.electionTicks) pr.becomeProbe();
    }
  }

  /**
   * reportUnreachable moves a follower back to probing after a failed delivery: a streaming one
   * resumes from its match; one whose snapshot failed probes from its match, not past the snapshot.
   */
  reportUnreachable(peer: NodeId): void {
    const pr = this.progress.get(peer);
    if (pr === undefined || pr.state === 'probe') return;
    if (pr.state === 'snapshot') pr.pendingSnapshot = 0;
    pr.becomeProbe();
  }

  /** status lists every member's progress. */
  status(): Record<NodeId, ProgressStatus> {
    const out: Record<NodeId, ProgressStatus> = {};
    for (const [id, pr] of this.progress) out[id] = { match: pr.match, next: pr.next, state: pr.state };
    return out;
  }
}
