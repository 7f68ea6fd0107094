import { assert } from './assert';
import type { RaftConfig } from './config';
import { validateRaftConfig } from './config';
import type { RaftRefusal } from './errors';
import { refusal } from './errors';
import type {
  AppendRequest,
  CampaignReason,
  HeartbeatRequest,
  HeartbeatResponse,
  Message,
  PreVoteRequest,
  SnapshotRequest,
  VoteRequest,
} from './messages';
import { applyConfigChange, incarnationOf, isMember, isVoter, tallyVotes } from './membership';
import { LeaderReplication } from './leader-replication';
import { Outbox } from './outbox';
import { RaftLog } from './raft-log';
import { ReadIndexQueue } from './read-index';
import { ConfigurationLog } from './configuration-log';
import { ElectionStretch, STRETCH_TICKS_MAX_ELECTIONS } from './election-stretch';
import type { Ready } from './ready';
import type { ConfigChange, Entry, HardState, Membership, NodeId, Role, SoftState } from './types';
import type { MessageType } from './messages';
import { NONE } from './types';
import type { MessageRefusal } from './message-refusal';
import { refuseMessage } from './message-refusal';
import type { Accepted, ProposeResult } from './errors';
import type { RaftStatus } from './raft-status';

interface Outstanding {
  /** entries are the entries this Ready asked to persist. */
  readonly entries: readonly Entry[];
  readonly snapshotIndex: number | undefined;
  /** appliedTo is the last committed entry handed out (by this Ready or takeEarlyCommittedEntries); 0 for none. */
  appliedTo: number;
}

/**
 * RaftCore is a pure, deterministic Raft node: pre-vote, check-quorum, leader stickiness and the
 * `leaderUnreachable` fast path; replication with per-follower progress; leadership transfer;
 * ReadIndex; snapshots; single-server membership changes with learners. It has no clock and no
 * I/O: time enters through `tick()`, input through `step()` and the request methods, and all
 * output leaves through `ready()` (see the Ready contract). Bad input from peers is ignored;
 * impossible states throw InvariantViolation.
 *
 * A new leader replicates optimistically to the voters that elected it: they start in replicate
 * state at its next index, so a proposal made right after the no-op leaves at once rather than
 * after a probe's answer. This is a question of speed only. A vote says the voter's log is not
 * ahead of ours, not that it matches; but every append carries (prevLogIndex, prevLogTerm) and a
 * follower takes it only when its log holds that entry (log matching, §5.3), so a wrong guess is
 * answered with a rejection, which falls back to probing with its hint, and `match`, the only thing
 * commit counts, still moves on acknowledgements alone.
 */
export class RaftCore {
  /** id is this node's id. */
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly log: RaftLog;

  private term = 0;
  private vote: NodeId = NONE;
  private lead: NodeId = NONE;
  private role: Role = 'follower';

  private readonly configuration: ConfigurationLog;
  /** membershipNow caches configuration.current(), so a change can be noticed. */
  private membershipNow: Membership;

  /** leader exists only while this node leads; it holds every leader-only piece of state. */
  private leader: LeaderReplication | undefined;
  private readonly votes = new Map<NodeId, boolean>();

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  /** stretch lengthens the election timeout and stickiness after the followed leader was slow but alive. */
  private readonly stretch: ElectionStretch;
  /** unreachableCountdown > 0 counts down to a campaign after `leaderUnreachable`. */
  private unreachableCountdown = 0;
  /** leaderLost is the (term, leader) whose loss the transport reported; it lifts stickiness for that leader and term only. */
  private leaderLost: { term: number; leader: NodeId } | undefined;

  private transferee: NodeId = NONE;
  /** campaignReason is why the current (pre-)campaign started; the vote round after a pre-vote keeps it. */
  private campaignReason: CampaignReason = 'election';
  private pendingConfigIndex = 0;

  private readonly reads = new ReadIndexQueue();

  private broadcastPending = false;
  private readonly outbox: Outbox;
  /**
   * heardIncarnations is the incarnation each member that is not bound yet last sent: what the
   * leader binds it to (a `bind` change, or the promotion of a learner).
   */
  private readonly heardIncarnations = new Map<NodeId, string>();
  /** staleIncarnations is the incarnation of each member whose counted messages were refused, as last seen. */
  private readonly staleIncarnations = new Map<NodeId, string>();
  private prevHardState: HardState;
  private prevSoftState: SoftState = { role: 'follower', leader: NONE };
  private outstanding: Outstanding | undefined;

  constructor(config: RaftConfig) {
    validateRaftConfig(config);
    this.cfg = config;
    this.id = config.id;
    this.outbox = new Outbox(config.incarnation);
    this.stretch = new ElectionStretch(
      config.electionTicks,
      config.electionStretchTicksMax ?? STRETCH_TICKS_MAX_ELECTIONS * config.electionTicks,
    );
    const storage = config.storage;
    this.log = new RaftLog(storage, config.applied, (entries) => this.onAppend(entries));
    const hard = storage.initialHardState();
    this.term = hard.term;
    this.vote = hard.vote;
    this.prevHardState = hard;
    // The configuration is the snapshot's plus the entries after it (not a tail kept before it).
    const afterSnapshot = storage.snapshot().meta.index + 1;
    const durableEntries =
      storage.lastIndex() >= afterSnapshot
        ? storage.entries(afterSnapshot, storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
        : [];
    this.configuration = new ConfigurationLog(storage.snapshot().meta.membership, durableEntries);
    this.membershipNow = this.configuration.current();
    this.becomeFollower(this.term, NONE);
  }

  // ───────────────────────────── requests from the runtime ─────────────────────────────

  /** tick advances logical time by one tick. */
  tick(): void {
    const stretched = this.stretch.ticks();
    this.stretch.tick();
    if (stretched > 0 && this.stretch.ticks() < stretched) {
      this.trace(
        this.stretch.ticks() === 0
          ? 'election timeout back to normal: the leader has not been silent for long lately'
          : `election timeout stretch down to ${this.stretch.ticks()} ticks`,
      );
    }
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /**
   * campaign starts an election now, with a pre-vote round, as if the election timeout had
   * elapsed (for tests and operator tools; leaders and learners ignore it).
   */
  campaign(): void {
    if (this.role !== 'leader') this.startCampaign('preVote', 'election');
  }

  /**
   * step handles one message from a peer. A message refused on sight (malformed, misaddressed, or
   * naming a term or index no correct peer can send: see refuseMessage) changes nothing, and step
   * returns why, so the runtime can count it and tell the operator; otherwise it returns undefined.
   */
  step(input: Message): MessageRefusal | undefined {
    const refused = refuseMessage(input, this.id, this.term);
    if (refused !== undefined) {
      this.trace(`ignored ${refused.detail}`);
      return refused;
    }
    const m = input;
    const bound = incarnationOf(this.membershipNow, m.from);
    if (bound === undefined) {
      if (m.incarnation !== undefined) this.heardFrom(m.from, m.incarnation);
    } else if (m.incarnation !== bound && COUNTED_MESSAGES.has(m.type)) {
      // A member bound to another store: this one lost (or never had) what the cluster counted on,
      // so it must neither vote nor be counted — nor move our term — until it is removed and added
      // again (DESIGN.md invariant 5). What a leader sends is still taken: it only informs.
      if (this.staleIncarnations.get(m.from) !== m.incarnation) {
        this.trace(
          `refused ${m.type} from ${m.from}: incarnation ${m.incarnation ?? '(none)'}, bound to ${bound}`,
        );
      }
      this.staleIncarnations.set(m.from, m.incarnation ?? '');
      return;
    }
    if (m.term > this.term) {
      if ((m.type === 'preVote' || m.type === 'vote') && m.reason !== 'transfer' && this.inLease()) {
        this.trace(`ignored ${m.type} from ${m.from} at term ${m.term}: the leader ${this.lead} is alive`);
        return;
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResponse' && !m.reject)) {
        // A pre-vote request never changes our term (thesis §9.6); a pre-vote grant carries the
        // would-be term, which is not a term anyone is in yet.
      } else {
        const fromLeader =
          m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot' || m.type === 'timeoutNow';
        const leader = fromLeader ? m.from : NONE;
        this.trace(`saw term ${m.term} in ${m.type} from ${m.from}`);
        this.becomeFollower(m.term, leader);
      }
    } else if (m.term < this.term) {
      if (m.type === 'append' || m.type === 'heartbeat') {
        // A stale leader: answer with our term so that it steps down instead of being stuck.
        this.outbox.push({
          type: 'appendResponse',
          from: this.id,
          to: m.from,
          term: this.term,
          reject: true,
          index: 0,
          hintIndex: 0,
          hintTerm: 0,
        });
      } else if (m.type === 'preVote') {
        this.outbox.push({
          type: 'preVoteResponse',
          from: this.id,
          to: m.from,
          term: this.term,
          reject: true,
        });
      }
      return;
    }

    if (m.type === 'preVote' || m.type === 'vote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  /** propose appends a state-machine command on the leader; its outcome is known when index applies. */
  propose(data: Uint8Array): ProposeResult {
    const refused = this.refuseWrite();
    if (refused !== undefined) return refused;
    const index = this.log.lastIndex() + 1;
    this.appendEntry({ kind: 'command', index, term: this.term, data });
    return { ok: true, index, term: this.term };
  }

  /**
   * proposeConfigChange appends one single-server membership change on the leader. It takes
   * effect when appended. A new change may start only after the previous one committed and
   * after the leader committed an entry of its own term (thesis §4.1 and its erratum).
   */
  proposeConfigChange(change: ConfigChange): ProposeResult {
    const refused = this.refuseWrite();
    if (refused !== undefined) return refused;
    if (this.pendingConfigIndex > this.log.committed || !this.committedInCurrentTerm()) {
      return refusal(
        'CONFIG_CHANGE_IN_PROGRESS',
        'a membership change is still in progress; retry once it commits',
        this.lead,
      );
    }
    return this.appendConfigChange(this.withHeardIncarnation(change));
  }

  /**
   * heardFrom records the incarnation an unbound member sent. When it changed, the member runs on
   * another store now, and the leader forgets what the previous store acknowledged.
   */
  private heardFrom(id: NodeId, incarnation: string): void {
    const before = this.heardIncarnations.get(id);
    this.heardIncarnations.set(id, incarnation);
    if (before !== undefined && before !== incarnation && this.leader !== undefined) {
      this.trace(`${id} now runs incarnation ${incarnation} (was ${before}); its progress starts over`);
      this.leader.restart(id);
    }
  }

  /**
   * withHeardIncarnation completes a promotion with the incarnation the learner's messages carry,
   * so that the new voter is bound to the store that caught up.
   */
  private withHeardIncarnation(change: ConfigChange): ConfigChange {
    if (change.type !== 'promote' || change.incarnation !== undefined) return change;
    const heard = this.heardIncarnations.get(change.node);
    return heard === undefined ? change : { ...change, incarnation: heard };
  }

  private appendConfigChange(change: ConfigChange): ProposeResult {
    const check = applyConfigChange(this.membershipNow, change);
    if (!check.ok) return refusal('INVALID_CONFIG_CHANGE', check.reason, this.lead);
    if (change.type === 'promote') {
      const pr = this.leading().get(change.node);
      const lastIndex = this.log.lastIndex();
      if (pr === undefined || pr.match === 0 || pr.match + this.cfg.learnerCatchUpEntriesMax < lastIndex) {
        return refusal(
          'LEARNER_NOT_CAUGHT_UP',
          `learner ${change.node} has match ${String(pr?.match ?? 0)}, last index is ${lastIndex}; retry once it has caught up`,
          this.lead,
        );
      }
    }
    const index = this.log.lastIndex() + 1;
    this.appendEntry({ kind: 'config', index, term: this.term, membership: check.membership, change });
    this.pendingConfigIndex = index;
    return { ok: true, index, term: this.term };
  }

  /**
   * readIndex starts a linearizable read (§6.4). Once a quorum confirms leadership after the
   * request, a ReadState with the commit index as of the request comes out of ready(); serve the
   * read once that index is applied. Reads pending when leadership is lost are dropped: the runtime
   * fails them when it sees the role change.
   */
  readIndex(requestId: string): Accepted {
    if (this.role !== 'leader') return refusal('NOT_LEADER', 'this node is not the leader', this.lead);
    if (this.reads.size >= this.cfg.readIndexQueueMax) {
      return refusal(
        'BACKPRESSURE',
        `more than ${this.cfg.readIndexQueueMax} reads pending; retry later`,
        this.lead,
      );
    }
    if (!this.committedInCurrentTerm()) {
      this.reads.awaitCommit(requestId);
      return { ok: true };
    }
    this.startRead(requestId);
    return { ok: true };
  }

  /** transferLeadership asks the leader to hand over to voter `to` (thesis §3.10). */
  transferLeadership(to: NodeId): Accepted {
    if (this.role !== 'leader') return refusal('NOT_LEADER', 'this node is not the leader', this.lead);
    if (to === this.id) return { ok: true };
    if (!isVoter(this.membershipNow, to)) {
      return refusal('INVALID_TRANSFER_TARGET', `${to} is not a voter`, this.lead);
    }
    if (this.transferee === to) return { ok: true };
    this.trace(`transferring leadership to ${to}`);
    this.transferee = to;
    this.electionElapsed = 0;
    const leader = this.leading();
    if (leader.isCaughtUp(to)) leader.sendTimeoutNow(to);
    else leader.sendAppend(to);
    return { ok: true };
  }

  /**
   * leaderUnreachable reports that the transport saw the connection to `leader` fail (a reset,
   * as when its process dies). A follower of that leader then campaigns after a short random
   * delay, and grants (pre-)votes despite stickiness for that leader and term. Any later message
   * from the leader cancels both. A stale or spurious signal can only start an election.
   */
  leaderUnreachable(leader: NodeId): void {
    if (this.role !== 'follower' || leader === NONE || leader !== this.lead) {
      this.trace(`ignored leaderUnreachable(${leader}): following ${this.lead || 'nobody'} as ${this.role}`);
      return;
    }
    this.leaderLost = { term: this.term, leader };
    if (this.promotable()) {
      this.unreachableCountdown = 1 + this.cfg.rng.intBelow(this.cfg.unreachableCampaignDelayTicksMax);
    }
    this.trace(`leader ${leader} unreachable; campaigning in ${this.unreachableCountdown} ticks`);
  }

  /** reportUnreachable tells the leader that a message to `peer` could not be delivered. */
  reportUnreachable(peer: NodeId): void {
    this.leader?.reportUnreachable(peer);
  }

  // ───────────────────────────────── Ready / advance ─────────────────────────────────

  /** hasReady tells whether ready() has work; it is false while a Ready is outstanding. */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    this.flush();
    return (
      !this.outbox.isEmpty() ||
      this.log.pendingEntries().length > 0 ||
      this.log.pendingSnapshot() !== undefined ||
      this.log.hasNextCommittedEntries() ||
      this.reads.hasReadStates() ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      this.role !== this.prevSoftState.role ||
      this.lead !== this.prevSoftState.leader
    );
  }

  /** ready returns the work to do now (see Ready); call advance() when it is done. */
  ready(): Ready {
    assert(this.outstanding === undefined, () => 'ready() called before advance() of the previous Ready');
    this.flush();
    const hard = this.hardState();
    const soft: SoftState = { role: this.role, leader: this.lead };
    const entries = [...this.log.pendingEntries()];
    const snapshot = this.log.pendingSnapshot();
    const committedEntries = this.log.nextCommittedEntries(this.cfg.messageBytesMax);
    const outgoing = this.outbox.take();
    const rd: Ready = {
      softState:
        soft.role !== this.prevSoftState.role || soft.leader !== this.prevSoftState.leader ? soft : undefined,
      hardState: sameHardState(hard, this.prevHardState) ? undefined : hard,
      entries,
      snapshot,
      committedEntries,
      earlyMessages: outgoing.early,
      messages: outgoing.afterPersist,
      readStates: this.reads.takeReadStates(),
    };
    this.outstanding = {
      entries,
      snapshotIndex: snapshot?.meta.index,
      appliedTo: committedEntries[committedEntries.length - 1]?.index ?? snapshot?.meta.index ?? 0,
    };
    this.prevHardState = hard;
    this.prevSoftState = soft;
    return rd;
  }

  /**
   * takeEarlyMessages hands over, while a Ready is outstanding (its write in flight), the messages
   * queued since then that promise nothing durable: the `earlyMessages` lane (a leader's appends
   * and heartbeats, snapshots, TimeoutNow, pre-vote traffic). So an acknowledgement that reaches
   * a leader during its own fsync releases the next appends at once instead of after the write.
   * They may carry entries no Ready has handed out yet: as with `earlyMessages`, the leader counts
   * itself for an entry only once its own write of it is done. Proposals made meanwhile are not
   * broadcast here: they wait for the next Ready (or ride an acknowledgement's appends), so under
   * load each follower still gets them batched. Empty when no Ready is outstanding (the next
   * ready() carries them).
   */
  takeEarlyMessages(): Message[] {
    if (this.outstanding === undefined) return [];
    return this.outbox.takeEarly();
  }

  /**
   * takeEarlyCommittedEntries hands over, while a Ready is outstanding (its write in flight), the
   * entries committed since then that are already durable here (at or below the stable index), in
   * index order after everything handed out before; the runtime applies them at once instead of
   * after the write, and advance() counts them applied. So an acknowledgement that commits
   * entries during the leader's write of newer ones answers their proposals now, not one fsync
   * later. Empty when no Ready is outstanding or it carries a snapshot (the next ready() carries
   * them). A leader counts only its durable entries, so everything it commits qualifies; a
   * follower's entries still in the write wait for it.
   */
  takeEarlyCommittedEntries(): Entry[] {
    const out = this.outstanding;
    if (out === undefined || out.snapshotIndex !== undefined || this.log.pendingSnapshot() !== undefined)
      return [];
    const from = Math.max(out.appliedTo, this.log.applied) + 1;
    const to = Math.min(this.log.committed, this.log.stableLastIndex());
    if (to < from) return [];
    const entries = this.log.entries(from, to + 1, this.cfg.messageBytesMax);
    assert(entries !== undefined, () => `committed entries from ${from} compacted before applying`);
    const last = entries[entries.length - 1];
    if (last !== undefined) out.appliedTo = last.index;
    return entries;
  }

  /** advance acknowledges the last Ready: persisted, sent and applied. */
  advance(): void {
    const done = this.outstanding;
    assert(done !== undefined, () => 'advance() without an outstanding Ready');
    this.outstanding = undefined;
    if (done.snapshotIndex !== undefined) this.log.stableSnapshotTo(done.snapshotIndex);
    this.markStable(done.entries);
    this.log.appliedTo(done.appliedTo);
    if (this.leader !== undefined) {
      // The leader counts its own entries only once its own write is durable.
      this.leader.selfPersisted(this.log.stableLastIndex());
      this.maybeCommit();
    }
  }

  /**
   * markStable records which of the persisted entries are now durable parts of the log. While the
   * write was in flight, an append may have replaced a suffix of them; the prefix that still
   * matches (same index and term, hence the same entry) is durable all the same, and must not be
   * handed out again (regression: sim seeds 21679 and 500708, storage append below its snapshot).
   */
  private markStable(persisted: readonly Entry[]): void {
    let last: Entry | undefined;
    for (const e of persisted) {
      if (this.log.term(e.index) !== e.term) break;
      last = e;
    }
    if (last !== undefined) this.log.stableTo(last.index, last.term);
  }

  /**
   * softState is the core's role and the leader it knows now, which the next Ready reports when
   * they changed since the last one (cheap: read on every turn of the runtime's loop).
   */
  softState(): SoftState {
    return { role: this.role, leader: this.lead };
  }

  /** membership is the configuration in force (the newest appended one). */
  membership(): Membership {
    return this.membershipNow;
  }

  /** status summarises the core's state. */
  status(): RaftStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      membership: this.membershipNow,
      progress: this.leader?.status() ?? {},
      transferee: this.transferee,
      incarnation: this.cfg.incarnation ?? '',
      staleMembers: this.staleMembers(),
      electionStretchTicks: this.stretch.ticks(),
    };
  }

  /**
   * staleMembers maps each member whose votes and acknowledgements are refused, because the
   * configuration binds it to another incarnation, to the incarnation it sent (RaftStatus.staleMembers).
   */
  staleMembers(): Record<NodeId, string> {
    const out: Record<NodeId, string> = {};
    for (const [id, seen] of this.staleIncarnations) {
      const bound = incarnationOf(this.membershipNow, id);
      if (bound !== undefined && bound !== seen) out[id] = seen;
    }
    return out;
  }

  // ───────────────────────────────────── roles ─────────────────────────────────────

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTicks = this.cfg.electionTicks + this.cfg.rng.intBelow(this.cfg.electionTicks);
    this.unreachableCountdown = 0;
    this.leaderLost = undefined;
    this.transferee = NONE;
    this.votes.clear();
    this.leader = undefined;
    this.reads.dropPending();
    this.broadcastPending = false;
  }

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.lead = leader;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    this.votes.clear();
    this.lead = NONE;
    this.role = 'preCandidate';
    this.trace(`became pre-candidate for term ${this.term + 1}`);
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.trace('became candidate');
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', () => `becomeLeader from ${this.role} at term ${this.term}`);
    const granted = [...this.votes].filter(([, grant]) => grant).map(([id]) => id);
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    this.leader = new LeaderReplication(this.id, this.term, this.cfg, this.log, this.outbox, (line) =>
      this.trace(line),
    );
    this.leader.sync(this.membershipNow);
    this.leader.get(this.id)?.becomeReplicate();
    // Those that voted for us hold no log ahead of ours: stream to them from our next index at
    // once, so what is proposed after the no-op does not wait for their first answer. Each append
    // still passes the log matching check (§5.3), so a wrong guess costs a rejection, never safety.
    this.leader.replicateOptimistically(granted);
    this.leader.selfPersisted(this.log.stableLastIndex());
    // Any config entry in our log may be uncommitted: no change until it and our no-op commit.
    this.pendingConfigIndex = this.log.lastIndex();
    this.appendEntry({ kind: 'noop', index: this.log.lastIndex() + 1, term: this.term });
    this.trace(`became leader at index ${this.log.lastIndex()}`);
  }

  /**
   * promotable: this node may campaign. A voter of the latest configuration may; so may a voter
   * of the previous one while the latest is uncommitted, since a node whose removal has not
   * committed may still be needed to elect a leader (thesis §4.2.2).
   */
  private promotable(): boolean {
    if (!this.qualified(this.membershipNow)) return false;
    if (isVoter(this.membershipNow, this.id)) return true;
    const previous = this.configuration.previous();
    return (
      this.configuration.lastIndex() > this.log.committed &&
      isVoter(previous, this.id) &&
      this.qualified(previous)
    );
  }

  /**
   * qualified: this store may vote (and, as a voter, campaign) under `membership`. Not when the
   * membership binds this node to another incarnation: this store is not the one the cluster
   * counted on (its data folder was lost or replaced), peers refuse its votes and acknowledgements,
   * and it waits to be removed and added again. A store created empty to join (requireBinding) may
   * hold less than a member whose id it reuses acknowledged, so it votes only once the membership
   * binds it to its own incarnation, or lists it as a learner: then its log holds its re-addition,
   * which follows the committed removal of that member, so no candidate that still counts the old
   * member can be as up to date as this log (the learner may be a voter whose promotion has not
   * reached it yet, whose vote a leader election may need; thesis §4.1).
   */
  private qualified(membership: Membership): boolean {
    const bound = incarnationOf(membership, this.id);
    if (bound !== undefined) return bound === this.cfg.incarnation;
    return this.cfg.requireBinding !== true || membership.learners.includes(this.id);
  }

  /**
   * inLease is leader stickiness: a live leader was heard within the election timeout (stretched
   * while that leader has lately been slow but alive) and not reported lost.
   */
  private inLease(): boolean {
    const windowTicks = this.cfg.electionTicks + this.stretch.ticks();
    if (this.lead === NONE || this.electionElapsed >= windowTicks) return false;
    const lost = this.leaderLost;
    return !(lost !== undefined && lost.term === this.term && lost.leader === this.lead);
  }

  private startCampaign(kind: 'preVote' | 'vote', reason: CampaignReason): void {
    if (!this.promotable()) return;
    this.campaignReason = reason;
    let voteTerm: number;
    if (kind === 'preVote') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.electionElapsed = 0;
    this.votes.set(this.id, true);
    if (tallyVotes(this.membershipNow, this.votes) === 'won') {
      if (kind === 'preVote') this.startCampaign('vote', reason);
      else this.becomeLeader();
      return;
    }
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    for (const to of this.membershipNow.voters) {
      if (to === this.id) continue;
      this.outbox.push({ type: kind, from: this.id, to, term: voteTerm, lastLogIndex, lastLogTerm, reason });
    }
  }

  // ───────────────────────────────────── ticks ─────────────────────────────────────

  private tickElection(): void {
    this.electionElapsed++;
    if (this.unreachableCountdown > 0) {
      this.unreachableCountdown--;
      if (this.unreachableCountdown === 0 && this.role === 'follower') {
        this.startCampaign('preVote', 'leaderUnreachable');
        return;
      }
    }
    // Only a follower of a known leader waits the stretch out: with no leader, nothing is slow.
    const stretch = this.role === 'follower' && this.lead !== NONE ? this.stretch.ticks() : 0;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks + stretch) {
      this.startCampaign('preVote', 'election');
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (!this.leading().quorumActive(this.membershipNow)) {
        this.trace('stepped down: no quorum heard within the election timeout');
        this.becomeFollower(this.term, NONE);
        return;
      }
      if (this.transferee !== NONE) {
        this.trace(`transfer to ${this.transferee} timed out`);
        this.transferee = NONE;
      }
    }
    this.leading().tick();
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.leading().bcastHeartbeat(this.membershipNow, this.reads.currentSeq);
      this.maybeBind();
    }
  }

  // ────────────────────────────────── message handlers ──────────────────────────────────

  private handleVoteRequest(m: PreVoteRequest | VoteRequest): void {
    const isPre = m.type === 'preVote';
    const responseType = isPre ? 'preVoteResponse' : 'voteResponse';
    const canVote =
      this.qualified(this.membershipNow) &&
      (this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (isPre && m.term > this.term));
    // The sender's membership is not checked (thesis §4.1): a voter whose promotion we have not
    // seen yet, or a node that has not learnt the configuration, must still be able to vote or
    // be voted for. Pre-vote and leader stickiness keep removed servers from disrupting.
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      if (isPre) {
        this.outbox.push({ type: responseType, from: this.id, to: m.from, term: m.term, reject: false });
        if (this.role === 'preCandidate' && m.term === this.term + 1 && this.outranksUs(m)) {
          // Two followers that saw the same leader loss campaign at nearly the same moment and
          // would split the vote. The one that ranks lower stands down, so exactly one goes on.
          // This changes only who campaigns, never how votes are counted.
          this.trace(`stood down for ${m.from}, whose pre-vote outranks ours`);
          this.becomeFollower(this.term, NONE);
        }
      } else {
        this.electionElapsed = 0;
        this.vote = m.from;
        this.outbox.push({ type: responseType, from: this.id, to: m.from, term: this.term, reject: false });
      }
      this.trace(`granted ${m.type} to ${m.from} at term ${m.term}`);
    } else {
      this.outbox.push({ type: responseType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  /**
   * outranksUs orders two pre-candidates of the same would-be term: the more up-to-date log
   * wins, then the lower node id. The order is total, so of two rivals exactly one stands down.
   */
  private outranksUs(m: PreVoteRequest): boolean {
    const lastTerm = this.log.lastTerm();
    const lastIndex = this.log.lastIndex();
    if (m.lastLogTerm !== lastTerm) return m.lastLogTerm > lastTerm;
    if (m.lastLogIndex !== lastIndex) return m.lastLogIndex > lastIndex;
    return m.from < this.id;
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.heardFromLeader(m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.heardFromLeader(m.from);
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        if (m.from === this.lead && this.promotable()) {
          this.trace(`received TimeoutNow from ${m.from}: campaigning`);
          this.startCampaign('vote', 'transfer');
        }
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // A leader of our term exists: we lost this election.
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        return;
      case 'preVoteResponse':
      case 'voteResponse': {
        const expected = this.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
        if (m.type !== expected) return;
        if (m.type === 'preVoteResponse' && !m.reject && m.term !== this.term + 1) return;
        this.votes.set(m.from, !m.reject);
        const tally = tallyVotes(this.membershipNow, this.votes);
        if (tally === 'won') {
          if (this.role === 'preCandidate') this.startCampaign('vote', this.campaignReason);
          else this.becomeLeader();
        } else if (tally === 'lost') {
          this.trace(`lost the ${m.type === 'preVoteResponse' ? 'pre-vote' : 'vote'}`);
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'appendResponse':
        if (this.leading().handleAppendResponse(m, this.membershipNow)) this.onCommitted();
        if (m.from === this.transferee && this.leader?.isCaughtUp(m.from) === true) {
          this.leader.sendTimeoutNow(m.from);
        }
        return;
      case 'heartbeatResponse':
        if (this.leading().handleHeartbeatResponse(m, this.reads.currentSeq)) {
          this.reads.release(this.leading().readQuorumSeq(this.membershipNow, this.reads.currentSeq));
        }
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Two leaders in one term would break election safety; from a peer it can only be bad input.
        this.trace(`ignored ${m.type} from ${m.from}, which claims to lead term ${m.term} too`);
        return;
      default:
        return;
    }
  }

  private heardFromLeader(from: NodeId): void {
    if (from === this.lead) this.observeGap(this.electionElapsed);
    this.electionElapsed = 0;
    this.lead = from;
    this.leaderLost = undefined;
    this.unreachableCountdown = 0;
  }

  /** observeGap feeds the stretch with how long the followed leader was silent before its latest message. */
  private observeGap(gapTicks: number): void {
    const before = this.stretch.ticks();
    this.stretch.heardAfter(gapTicks);
    const after = this.stretch.ticks();
    if (after > before) {
      this.trace(
        `election timeout stretched by ${after} ticks: the leader ${this.lead} was silent for ${gapTicks} ticks and is alive`,
      );
    }
  }

  private handleAppend(m: AppendRequest): void {
    if (m.prevLogIndex < this.log.committed) {
      this.sendAppendResponse(m.from, false, this.log.committed, 0, 0);
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.sendAppendResponse(m.from, false, lastNew, 0, 0);
      return;
    }
    const hintIndex = this.log.findConflictByTerm(
      Math.min(m.prevLogIndex, this.log.lastIndex()),
      m.prevLogTerm,
    );
    this.sendAppendResponse(m.from, true, m.prevLogIndex, hintIndex, this.log.term(hintIndex) ?? 0);
  }

  private handleHeartbeat(m: HeartbeatRequest): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    const response: HeartbeatResponse = {
      type: 'heartbeatResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      readSeq: m.readSeq,
    };
    this.outbox.push(response);
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const { index, term } = m.snapshot.meta;
    if (index <= this.log.committed) {
      this.sendAppendResponse(m.from, false, this.log.committed, 0, 0);
      return;
    }
    if (this.log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry: the entries after it stay; just commit.
      this.log.commitTo(index);
      this.sendAppendResponse(m.from, false, index, 0, 0);
      return;
    }
    this.trace(`restoring snapshot at index ${index} term ${term}`);
    this.log.restore(m.snapshot);
    this.configuration.restore(m.snapshot.meta.membership);
    this.setMembership(this.configuration.current());
    this.sendAppendResponse(m.from, false, index, 0, 0);
  }

  // ─────────────────────────────────── replication ───────────────────────────────────

  private refuseWrite(): RaftRefusal | undefined {
    if (this.role !== 'leader') return refusal('NOT_LEADER', 'this node is not the leader', this.lead);
    if (this.transferee !== NONE) {
      return refusal(
        'TRANSFER_IN_PROGRESS',
        `leadership is moving to ${this.transferee}; retry there`,
        this.transferee,
      );
    }
    if (this.log.lastIndex() - this.log.committed >= this.cfg.uncommittedEntriesMax) {
      return refusal(
        'BACKPRESSURE',
        `${this.cfg.uncommittedEntriesMax} entries await commit; retry later`,
        this.lead,
      );
    }
    return undefined;
  }

  private appendEntry(entry: Entry): void {
    this.log.append([entry]);
    this.broadcastPending = true;
  }

  /** flush sends what proposals and reads accumulated since the last Ready, as one message per follower. */
  private flush(): void {
    if (this.leader === undefined) return;
    if (this.broadcastPending) {
      this.broadcastPending = false;
      this.leader.bcastAppend(this.membershipNow);
    }
    if (this.reads.takeRound()) this.leader.bcastHeartbeat(this.membershipNow, this.reads.currentSeq);
  }

  private sendAppendResponse(
    to: NodeId,
    reject: boolean,
    index: number,
    hintIndex: number,
    hintTerm: number,
  ): void {
    this.outbox.push({
      type: 'appendResponse',
      from: this.id,
      to,
      term: this.term,
      reject,
      index,
      hintIndex,
      hintTerm,
    });
  }

  /** maybeCommit advances the commit index if a quorum holds an entry of this term, and tells followers. */
  private maybeCommit(): void {
    if (this.leader?.maybeCommit(this.membershipNow) === true) this.onCommitted();
  }

  /** onCommitted follows a commit advance on the leader: broadcast it, start parked reads, step down if removed. */
  private onCommitted(): void {
    this.leading().bcastAppend(this.membershipNow);
    if (this.committedInCurrentTerm()) this.reads.releaseAwaitingCommit(this.log.committed, this.soleVoter());
    this.maybeBind();
    if (!this.promotable() && this.configuration.lastIndex() <= this.log.committed) {
      // Our own removal committed: tell followers the commit, then stop leading (thesis §4.2.2).
      this.trace('stepping down: this node was removed from the configuration');
      this.becomeFollower(this.term, NONE);
    }
  }

  /**
   * maybeBind binds the next voter that is not bound yet to the incarnation its messages carry
   * (this leader first), one config change at a time, when no other change is in progress. The
   * first leader of a new cluster thus binds every voter within a few commits; until then an
   * unbound voter is trusted as it is (see packages/raft/design.md, "Incarnations"). It binds only
   * once every member has been heard with an incarnation: a member that sends none runs a version
   * that knows no `bind` change and would refuse the entry (a rolling upgrade), so binding waits
   * until the last member runs this one.
   */
  private maybeBind(): void {
    if (this.role !== 'leader' || this.transferee !== NONE) return;
    if (this.pendingConfigIndex > this.log.committed || !this.committedInCurrentTerm()) return;
    if (!this.everyMemberHeardWithIncarnation()) return;
    for (const id of this.membershipNow.voters) {
      if (incarnationOf(this.membershipNow, id) !== undefined) continue;
      const incarnation = id === this.id ? this.cfg.incarnation : this.heardIncarnations.get(id);
      if (incarnation === undefined) continue;
      if (this.refuseWrite() !== undefined) return;
      this.trace(`binding ${id} to incarnation ${incarnation}`);
      const done = this.appendConfigChange({ type: 'bind', node: id, incarnation });
      assert(done.ok, () => `bind of ${id} refused: ${done.ok ? '' : done.message}`);
      return;
    }
  }

  private everyMemberHeardWithIncarnation(): boolean {
    const m = this.membershipNow;
    return [...m.voters, ...m.learners].every((id) =>
      id === this.id
        ? this.cfg.incarnation !== undefined
        : incarnationOf(m, id) !== undefined || this.heardIncarnations.has(id),
    );
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ────────────────────────────────────── reads ──────────────────────────────────────

  private soleVoter(): boolean {
    return this.membershipNow.voters.length === 1 && this.promotable();
  }

  private startRead(requestId: string): void {
    this.reads.start(requestId, this.log.committed, this.soleVoter());
  }

  // ──────────────────────────────────── membership ────────────────────────────────────

  /** onAppend keeps the configuration in step with the log: a config entry counts from its append. */
  private onAppend(entries: readonly Entry[]): void {
    this.configuration.onAppend(entries, this.log.committed);
    this.setMembership(this.configuration.current());
  }

  private setMembership(next: Membership): void {
    if (next === this.membershipNow) return;
    this.membershipNow = next;
    this.trace(`membership is now voters [${next.voters.join(',')}] learners [${next.learners.join(',')}]`);
    if (this.leader !== undefined) {
      this.leader.sync(next);
      if (!isMember(next, this.transferee)) this.transferee = NONE;
    } else if (!this.promotable() && this.role !== 'follower') this.becomeFollower(this.term, NONE);
  }

  // ────────────────────────────────────── output ──────────────────────────────────────

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** leading returns the leader state; calling it when not leading is a bug. */
  private leading(): LeaderReplication {
    assert(this.leader !== undefined, () => `leader-only operation as ${this.role} at term ${this.term}`);
    return this.leader;
  }

  private trace(line: string): void {
    this.cfg.logger?.(`${this.id} [term ${this.term} ${this.role}] ${line}`);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * COUNTED_MESSAGES are the messages through which a member counts: votes and their grants (for
 * elections), acknowledgements (for commit, check-quorum and ReadIndex). A member bound to another
 * incarnation gets none of them through (see RaftCore.step).
 */
const COUNTED_MESSAGES: ReadonlySet<MessageType> = new Set<MessageType>([
  'preVote',
  'preVoteResponse',
  'vote',
  'voteResponse',
  'appendResponse',
  'heartbeatResponse',
]);
