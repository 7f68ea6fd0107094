import { randomUUID } from 'node:crypto';
import type {
  AcquireOutcome,
  ApplyResult,
  CampaignOutcome,
  ClusterView,
  Command,
  CommandOutcome,
  ExpireItem,
  LeaseRef,
  LeaseView,
  ListHoldersPage,
  MirrorPage,
  MirrorRequest,
  RenewItem,
  ResignOutcome,
  ScopeView,
  FailoverRecord,
  FailoverStepCommand,
  SetClusterCommand,
  SetClusterOutcome,
  StepDownOutcome,
  Successor,
} from '@omnirelay/leadership-fsm';
import {
  EXPIRE_BATCH_MAX,
  LEASE_BATCH_BYTES_MAX,
  RENEW_BATCH_MAX,
  assert,
  encodeCommand,
  isLeadershipError,
} from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { hopLedger } from '@omnirelay/raft';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ErrorCode } from '../errors/error-table';
import { ERROR_TABLE, ServerError, isServerError, toServerError } from '../errors/error-table';
import { NOOP_TRACER } from '../tracing/tracing';
import { CampaignClaims } from './campaign-claims';
import { encodeEnvelope } from './envelope';
import {
  INTERNAL_TRANSPORT,
  currentForwardedBy,
  currentHandedBackBy,
  currentPrincipal,
  currentTakesHandOff,
  currentTraceContext,
  currentTransport,
  withTransport,
} from './request-origin';
import type { LeadershipStateMachine } from './leadership-state-machine';
import type { LeaseBatchAnswers, LeaseBatchCommand, LeaseBatchRefusalListener } from './lease-batches';
import { chunkLeases, proposeSplitting } from './lease-batches';
import type { AdmittedCall } from './renewal-admission';
import { ADMISSION_RENEWAL_LAG_MS_DEFAULT, RenewalAdmission, renewalLag } from './renewal-admission';
import type { Renewable } from './renewal-batcher';
import { RenewalBatcher } from './renewal-batcher';
import { ResetReleaser } from './reset-releaser';
import type { Watch, WatchHub, WatchSink } from './watch-hub';

/** LeaderAddresses are where a member serves clients: its HTTP client port and its public gRPC port. */
export interface LeaderAddresses {
  readonly http?: string | undefined;
  readonly grpc?: string | undefined;
}

/**
 * LeaderDirectory tells where a member's client ports are (undefined when unknown), so a refused
 * write can say where to go and a follower can forward it.
 */
export type LeaderDirectory = (nodeId: string) => LeaderAddresses | undefined;

/**
 * AppliedTerm is what every write answers besides its outcome: the Raft term of the log entry
 * whose apply produced the answer (a write committed under a new Raft leader has a higher one).
 */
export interface AppliedTerm {
  readonly raftTerm: number;
}

/** CampaignElected is a campaign's win: the new lease and the Raft term of the entry that granted it. */
export interface CampaignElected extends AppliedTerm {
  readonly lease: LeaseView;
  /** alreadyHolder: the candidate held the scope before this campaign (its lease is older than the call). */
  readonly alreadyHolder: boolean;
}

/** StaleFenceKind says which request presented a fence that is not the holder's. */
export type StaleFenceKind = 'validate' | 'resign' | 'renew' | 'stepDown';

/**
 * ProposalResult is how one attempt to replicate a write ended: `committed` (applied on this
 * node, whatever the state machine answered), or the error code it failed with (NOT_LEADER,
 * BACKPRESSURE, NO_QUORUM, DEADLINE_EXCEEDED, PROPOSAL_DROPPED, TRANSFER_IN_PROGRESS, ...).
 */
export type ProposalResult = 'committed' | ErrorCode;

/** ReadConsistency: linearizable reads confirm leadership with a quorum first (ReadIndex); serializable reads answer from this replica. */
export type ReadConsistency = 'linearizable' | 'serializable';

/** AcquireRequest asks for a scope now. */
export interface AcquireRequest {
  readonly scope: string;
  readonly candidateId: string;
  /**
   * sessionId is the client session asking (absent: none, a session of its own). The lease
   * belongs to it: the same candidate in another session is refused with HELD_BY_OTHER_SESSION.
   */
  readonly sessionId?: string;
  readonly metadata?: string;
  readonly leaseTtlMs: number;
  readonly correlationId?: string;
}

/** CampaignRequest joins a scope's queue at a priority. */
export interface CampaignRequest extends AcquireRequest {
  readonly priority: number;
}

/**
 * LeadershipService is what the public edges (gRPC, HTTP) call: every write becomes one
 * replicated command stamped by the leader; every read is linearizable unless the caller asks
 * for a serializable one. On a follower, writes fail with NOT_LEADER naming the leader and its
 * client address (the SDK goes there).
 */
export class LeadershipService {
  private readonly batcher: RenewalBatcher;
  /** admission refuses new leases while renewals wait too long on this leader (RenewalAdmission). */
  readonly admission: RenewalAdmission;
  /** leaderWaiters are the writes waiting for the next leader change (leaderChangeOr), woken by one node listener. */
  private readonly leaderWaiters = new Set<() => void>();
  /** leadershipLost are the listeners to call once this node stops leading (onLeadershipLost). */
  private readonly leadershipLost = new Set<() => void>();
  /** lostTimer waits, after this node stopped leading with no successor known yet, for the successor's name. */
  private lostTimer: NodeJS.Timeout | undefined;
  /** appliedTerms holds the Raft term of each applied entry's result until its proposer reads it. */
  private readonly appliedTerms = new WeakMap<ApplyResult, number>();
  /**
   * queuedCampaigns hears, for each campaign waiting in a queue on this node, that its cluster
   * stopped being active: the state machine then dropped every waiter, so the wait must end.
   */
  private readonly queuedCampaigns = new Set<(refusal: ServerError) => void>();
  /** campaignClaims keeps a cancelled campaign's withdraw from taking a newer campaign's queue place. */
  private readonly campaignClaims = new CampaignClaims();
  /** resetReleaser holds the leader's release-on-reset timers (see ResetReleaser). */
  readonly resetReleaser: ResetReleaser;
  private readonly logger: Logger;

  constructor(
    private readonly node: RaftNode<ApplyResult>,
    private readonly sm: LeadershipStateMachine,
    private readonly hub: WatchHub,
    private readonly leaderAddress: LeaderDirectory,
    /** onStaleFence hears every stale fence presented (metrics: evidence a stale holder is still acting). */
    private readonly onStaleFence: (kind: StaleFenceKind) => void = () => undefined,
    /** tracer makes one `leadership.propose` span per write; the default records nothing. */
    private readonly tracer: Tracer = NOOP_TRACER,
    /** logger hears the release-on-reset timers and lease batches refused for their content; the default is silent. */
    logger: Logger = pino({ level: 'silent' }),
    /** onLeaseBatchRefused hears each lease batch split or lease isolated after a content refusal (metrics). */
    private readonly onLeaseBatchRefused: LeaseBatchRefusalListener = () => undefined,
    /**
     * onProposal hears how each attempt to replicate a write through Raft ended, and how long it
     * took from the hand-off to Raft to that end, in seconds (metrics).
     */
    private readonly onProposal: (result: ProposalResult, seconds: number) => void = () => undefined,
    /** admission bounds the renewal backlog above which new leases are refused (RenewalAdmission; 0: off). */
    admission: { readonly renewalLagMsMax: number; readonly onRefused?: (call: AdmittedCall) => void } = {
      renewalLagMsMax: ADMISSION_RENEWAL_LAG_MS_DEFAULT,
    },
  ) {
    this.logger = logger;
    node.on('leader', (leader) => {
      for (const wake of [...this.leaderWaiters]) wake();
      if (leader === node.id || this.leadershipLost.size === 0) return;
      // Stopped leading: tell the listeners once the successor is known (their callers are sent
      // there), or after SUCCESSOR_WAIT_MS without one.
      if (leader !== '') this.leadershipEnded();
      else this.lostTimer ??= setTimeout(() => this.leadershipEnded(), SUCCESSOR_WAIT_MS).unref();
    });
    // RaftNode.propose exposes neither the entry's index nor its term (its currentTerm is the
    // persisted one, which lags a new leader's for a moment); the applied entry carries both.
    sm.onApplied((result, entry) => this.appliedTerms.set(result, entry.term));
    sm.onApplied((result) => {
      if (!result.ok || result.outcome.type !== 'setCluster' || result.outcome.waitersDropped === 0) return;
      const d = result.outcome.descriptor;
      const refusal = new ServerError(
        'CLUSTER_PASSIVE',
        `this cluster no longer grants (descriptor of ${JSON.stringify(d.clusterId)} set ${d.state} at epoch ${d.failoverEpoch}): every waiting campaign was dropped; campaign on the active cluster`,
        { failoverEpoch: d.failoverEpoch },
      );
      for (const end of [...this.queuedCampaigns]) end(refusal);
    });
    this.resetReleaser = new ResetReleaser(
      (lease) =>
        withTransport(INTERNAL_TRANSPORT, () =>
          this.resign(lease.scope, lease.fenceToken, `release-on-reset-${randomUUID()}`),
        ).then(() => undefined),
      logger,
      node.isLeader,
    );
    this.batcher = new RenewalBatcher(RENEW_BATCH_MAX, LEASE_BATCH_BYTES_MAX, async (leases) => {
      const { answers, isolated } = await this.proposeLeaseBatch('renew', leases);
      // A lease refused even alone is answered for itself; it will never renew (the FSM would refuse it too).
      return answers.concat(
        isolated.map(({ lease, error }) => ({
          scope: lease.scope,
          fenceToken: lease.fenceToken,
          renewed: false,
          code: error.code === 'INVALID_SCOPE' ? 'INVALID_SCOPE' : 'INVALID_ARGUMENT',
          currentFenceToken: null,
        })),
      );
    });
    this.admission = new RenewalAdmission(
      admission.renewalLagMsMax,
      // What a renewal arriving now waits on this leader: behind the oldest unanswered one, and
      // first, unread, for as long as the event loop runs late. At 85,000 leases a leader whose
      // loop stalled 0.2–0.7 s again and again showed a 2.7 s backlog while clients waited 5 s
      // for answers, kept admitting new leases, and every lease lapsed (bench/README.md "scale").
      () => renewalLag(this.batcher.oldestWaitMs(), this.node.isLeader ? this.node.eventLoopLateMs() : 0),
      admission.onRefused,
      (change) => {
        if (change.refusing) {
          this.logger.warn(
            { renewalLagMs: change.renewalLagMs, renewalLagMsMax: admission.renewalLagMsMax },
            'refusing new leases (BACKPRESSURE) while this leader catches up with renewals: if this repeats, the cluster holds more leases than it can renew (omnirelay_renewal_backlog_seconds)',
          );
        } else {
          this.logger.info(
            { renewalLagMs: change.renewalLagMs, refused: change.refused },
            'admitting new leases again: renewals caught up',
          );
        }
      },
    );
  }

  /**
   * expireLeases proposes the expiry of `leases` (the expiry scheduler's due leases), in as many
   * entries as EXPIRE_BATCH_MAX and LEASE_BATCH_BYTES_MAX need, and answers each lease, with the
   * leases that could not be proposed even alone (see proposeSplitting). Other failures throw.
   */
  async expireLeases(leases: readonly LeaseRef[]): Promise<LeaseBatchAnswers<ExpireItem>> {
    const answers: ExpireItem[] = [];
    const isolated: LeaseBatchAnswers<ExpireItem>['isolated'] = [];
    for (const chunk of chunkLeases(leases, EXPIRE_BATCH_MAX, LEASE_BATCH_BYTES_MAX)) {
      const part = await this.proposeLeaseBatch('expire', chunk);
      answers.push(...part.answers);
      isolated.push(...part.isolated);
    }
    return { answers, isolated };
  }

  /**
   * proposeLeaseBatch proposes one renew or expire entry listing `leases` (the server's own
   * write); a batch refused for its content is split and a lease refused alone is isolated,
   * with a log line and `onLeaseBatchRefused` for each.
   */
  private proposeLeaseBatch<C extends LeaseBatchCommand>(
    type: C,
    leases: readonly LeaseRef[],
  ): Promise<LeaseBatchAnswers<C extends 'renew' ? RenewItem : ExpireItem>> {
    type Item = C extends 'renew' ? RenewItem : ExpireItem;
    return proposeSplitting<Item>(
      type,
      leases,
      async (part) => {
        const o = await withTransport(INTERNAL_TRANSPORT, () =>
          this.propose({ type, correlationId: `${type}-${randomUUID()}`, leases: part }),
        );
        if (o.type !== type) throw new ServerError('INTERNAL', `${type} answered with ${o.type}`);
        return o.leases as readonly Item[];
      },
      { logger: this.logger, onRefused: this.onLeaseBatchRefused },
    );
  }

  /**
   * admitNewLease refuses a call asking for a new lease with BACKPRESSURE while this leader's
   * renewals are backed up (RenewalAdmission), unless its session already holds the scope (or,
   * for a campaign, waits for it): a retry, which the FSM answers with what the session has. On a
   * follower it does nothing: the call fails with NOT_LEADER when it proposes, and is forwarded to
   * the leader, which decides.
   */
  private admitNewLease(call: AdmittedCall, req: AcquireRequest): void {
    if (this.node.isLeader) this.admission.admit(call, () => this.heldInSession(call, req));
  }

  /**
   * heldInSession says whether this node's applied state shows `req`'s candidate holding
   * `req.scope` in `req`'s session (or, for a campaign, waiting for it there). Only a hint for
   * admission: the FSM decides when the entry is applied.
   */
  private heldInSession(call: AdmittedCall, req: AcquireRequest): boolean {
    const session = req.sessionId;
    if (session === undefined || session === '') return false;
    let view: ScopeView | null;
    try {
      view = this.sm.fsm.getScope(req.scope);
    } catch {
      return false; // a bad scope name: the FSM refuses it when applied
    }
    if (view === null) return false;
    const mine = (who: { candidateId: string; sessionId: string }): boolean =>
      who.candidateId === req.candidateId && who.sessionId === session;
    if (view.holder !== null && mine(view.holder)) return true;
    return call === 'campaign' && view.waiting.some(mine);
  }

  /** renewalPending says whether a renewal of the lease with this leaseKey is queued or in flight (the expiry scheduler leaves it alone). */
  renewalPending(key: string): boolean {
    return this.batcher.isPending(key);
  }

  /** acquire grants `scope` to the candidate if it is vacant, else names the holder. */
  async acquire(req: AcquireRequest): Promise<AcquireOutcome & AppliedTerm> {
    this.admitNewLease('acquire', req);
    const { outcome, raftTerm } = await this.proposeApplied({
      type: 'acquire',
      correlationId: req.correlationId ?? randomUUID(),
      scope: req.scope,
      candidateId: req.candidateId,
      ...sessionOf(req),
      metadata: req.metadata ?? '',
      leaseTtlMs: req.leaseTtlMs,
    });
    return { ...expectOutcome(outcome, 'acquire'), raftTerm };
  }

  /**
   * campaign queues the candidate and resolves with its lease, and the Raft term of the entry
   * that granted it, once it is elected (at once if the scope is vacant). `onQueued` hears the
   * queue position when it was not elected at once; `signal` aborts the wait, and the candidate
   * then leaves the queue.
   */
  async campaign(
    req: CampaignRequest,
    signal: AbortSignal,
    onQueued: (queued: Extract<CampaignOutcome, { elected: false }>) => void = () => undefined,
  ): Promise<CampaignElected> {
    this.admitNewLease('campaign', req);
    // Listen before proposing, so an election right after the campaign entry is not missed.
    let elected: ((won: CampaignElected) => void) | undefined;
    const electedPromise = new Promise<CampaignElected>((resolve) => (elected = resolve));
    const sink: WatchSink = {
      deliver: (batch) => {
        for (const e of batch.events) {
          // The candidate's lease in this session: another session cannot be waiting with it.
          if (
            e.scope === req.scope &&
            e.holder?.candidateId === req.candidateId &&
            e.holder.sessionId === (req.sessionId ?? '')
          )
            elected?.({ lease: e.holder, raftTerm: e.raftTerm, alreadyHolder: false });
        }
        return true;
      },
      close: () => undefined,
    };
    const watch: Watch = this.hub.watch(req.scope, undefined, sink);
    // Claimed before anything is awaited: a cancelled campaign of this session served after this
    // point leaves the queue place to this call instead of withdrawing it (CampaignClaims).
    const claim = this.campaignClaims.claim(req.scope, req.candidateId, req.sessionId);
    try {
      await claim.ready();
      const applied = await this.proposeApplied({
        type: 'campaign',
        correlationId: req.correlationId ?? randomUUID(),
        scope: req.scope,
        candidateId: req.candidateId,
        ...sessionOf(req),
        metadata: req.metadata ?? '',
        leaseTtlMs: req.leaseTtlMs,
        priority: req.priority,
      });
      const o = expectOutcome(applied.outcome, 'campaign');
      if (o.elected) return { lease: o.lease, raftTerm: applied.raftTerm, alreadyHolder: o.alreadyHolder };
      onQueued(o);
      let dropped: ((refusal: ServerError) => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = (): void =>
          reject(new ServerError('DEADLINE_EXCEEDED', 'the campaign was cancelled before it won'));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        dropped = reject;
        this.queuedCampaigns.add(reject);
      });
      try {
        return await Promise.race([electedPromise, aborted]);
      } catch (e) {
        // Dropped with every waiter: there is nothing left to withdraw.
        if (isServerError(e, 'CLUSTER_PASSIVE')) throw e;
        // Leave the queue unless a newer campaign of this session waits for the same place, best
        // effort: if this fails the waiter is promoted and expires after its TTL.
        await claim.withdraw(() =>
          this.propose({
            type: 'withdraw',
            correlationId: randomUUID(),
            scope: req.scope,
            candidateId: req.candidateId,
            // Only this session's campaign: the same candidate id may wait in no other.
            ...sessionOf(req),
          }).then(
            () => undefined,
            () => undefined,
          ),
        );
        throw e;
      } finally {
        if (dropped !== undefined) this.queuedCampaigns.delete(dropped);
      }
    } finally {
      claim.release();
      watch.cancel();
    }
  }

  /** resign ends the holder's lease, proven by its fence; the best waiter, if any, takes over. */
  async resign(
    scope: string,
    fenceToken: bigint,
    correlationId?: string,
  ): Promise<ResignOutcome & AppliedTerm> {
    const { outcome, raftTerm } = await this.proposeApplied({
      type: 'resign',
      correlationId: correlationId ?? randomUUID(),
      scope,
      fenceToken,
    });
    return { ...expectOutcome(outcome, 'resign'), raftTerm };
  }

  /**
   * renew renews one lease; renewals arriving together ride one replicated entry. A renewal also
   * stops the lease's release-on-reset timer, if one is armed.
   */
  async renew(lease: LeaseRef): Promise<RenewItem> {
    const [item] = await this.renewMany([lease]);
    return item!;
  }

  /**
   * renewMany renews the leases of one request together (a KeepAlive message) and answers each,
   * in order: one wait for the whole list, however long it is. `held` are their Renewables when
   * the caller keeps them (RenewalBatcher.renewMany).
   */
  async renewMany(leases: readonly LeaseRef[], held?: readonly Renewable[]): Promise<RenewItem[]> {
    if (leases.length === 0) return [];
    if (!this.node.isLeader) throw this.notLeader();
    for (const lease of leases) this.resetReleaser.cancel(lease);
    const items = await this.batcher.renewMany(leases, held);
    for (const item of items) if (!item.renewed && item.code === 'STALE_FENCE') this.onStaleFence('renew');
    return items;
  }

  /** stepDown removes the holder (operator), optionally handing the scope to `successor`. */
  async stepDown(req: {
    scope: string;
    fenceToken?: bigint;
    successor?: Successor;
    correlationId?: string;
  }): Promise<StepDownOutcome & AppliedTerm> {
    const { outcome, raftTerm } = await this.noteStale('stepDown', () =>
      this.proposeApplied({
        type: 'stepDown',
        correlationId: req.correlationId ?? randomUUID(),
        scope: req.scope,
        ...(req.fenceToken === undefined ? {} : { fenceToken: req.fenceToken }),
        ...(req.successor === undefined ? {} : { successor: req.successor }),
      }),
    );
    return { ...expectOutcome(outcome, 'stepDown'), raftTerm };
  }

  /**
   * currentLeaseTtlMs is the TTL of the lease `lease` names when it is the scope's current one on
   * this replica, else undefined (a vacant scope, another fence, an invalid scope name).
   */
  currentLeaseTtlMs(lease: LeaseRef): number | undefined {
    try {
      const holder = this.sm.fsm.getHolder(lease.scope);
      return holder?.fenceToken === lease.fenceToken ? holder.leaseTtlMs : undefined;
    } catch {
      return undefined;
    }
  }

  /** getLeader returns the scope's current lease (null when vacant). */
  async getLeader(scope: string, consistency: ReadConsistency = 'linearizable'): Promise<LeaseView | null> {
    await this.readBarrier(consistency);
    return this.wrap(() => this.sm.fsm.getHolder(scope));
  }

  /** listLeaders pages through current leases whose scope starts with `prefix`. */
  async listLeaders(
    req: { prefix: string; pageToken?: string; limit?: number },
    consistency: ReadConsistency = 'linearizable',
  ): Promise<ListHoldersPage> {
    await this.readBarrier(consistency);
    return this.wrap(() => this.sm.fsm.listHolders(req));
  }

  /** validateFence answers whether `fenceToken` is the current holder's fence for `scope`. */
  async validateFence(
    scope: string,
    fenceToken: bigint,
    consistency: ReadConsistency = 'linearizable',
  ): Promise<{ valid: boolean; current: LeaseView | null }> {
    await this.readBarrier(consistency);
    const answer = this.wrap(() => ({
      valid: this.sm.fsm.validateFence(scope, fenceToken),
      current: this.sm.fsm.getHolder(scope),
    }));
    if (!answer.valid) this.onStaleFence('validate');
    return answer;
  }

  private async noteStale<T>(kind: StaleFenceKind, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isServerError(e, 'STALE_FENCE')) this.onStaleFence(kind);
      throw e;
    }
  }

  /**
   * clusters returns the cross-cluster state: this cluster's descriptor, effective state and
   * failover epoch, the peers, and the mirror's version vector.
   */
  async clusters(consistency: ReadConsistency = 'linearizable'): Promise<ClusterView> {
    await this.readBarrier(consistency);
    return this.sm.fsm.cluster();
  }

  /** mirror returns one page of the read-only mirror of the active cluster, with its version vector. */
  async mirror(request: MirrorRequest, consistency: ReadConsistency = 'linearizable'): Promise<MirrorPage> {
    await this.readBarrier(consistency);
    return this.wrap(() => this.sm.fsm.mirror(request));
  }

  /**
   * setCluster replicates a cluster descriptor (this cluster's own with `local`, else a peer's);
   * the caller's principal is recorded as `changedBy`. EPOCH_REGRESSION for a lower epoch or a
   * promotion that does not raise it above every epoch known.
   */
  async setCluster(
    req: Omit<SetClusterCommand, 'type' | 'correlationId'> & { correlationId?: string },
  ): Promise<SetClusterOutcome> {
    const { correlationId, ...fields } = req;
    return expectOutcome(
      await this.propose({ type: 'setCluster', correlationId: correlationId ?? randomUUID(), ...fields }),
      'setCluster',
    );
  }

  /**
   * recordFailoverStep replicates one step of a failover workflow into this cluster's failover
   * history (the caller's principal is its actor) and returns the record.
   */
  async recordFailoverStep(
    req: Omit<FailoverStepCommand, 'type' | 'correlationId'> & { correlationId?: string },
  ): Promise<FailoverRecord> {
    const { correlationId, ...fields } = req;
    return expectOutcome(
      await this.propose({ type: 'failoverStep', correlationId: correlationId ?? randomUUID(), ...fields }),
      'failoverStep',
    ).record;
  }

  /** watch streams holder changes of scopes under `prefix`, resuming from `fromRevision` if given. */
  watch(prefix: string, fromRevision: number | undefined, sink: WatchSink): Watch {
    return this.hub.watch(prefix, fromRevision, sink);
  }

  /**
   * propose replicates one command and returns its outcome, or throws a ServerError with the
   * code from the table: validation errors before anything is replicated, FSM refusals after.
   * Each call is one `leadership.propose` span (events `proposed`, `applied`); a failure sets
   * the span's status to ERROR with the code as its message and as `error.type`.
   */
  async propose(command: Command): Promise<CommandOutcome> {
    return (await this.proposeApplied(command)).outcome;
  }

  /** proposeApplied is propose that also answers the Raft term of the entry that was applied. */
  async proposeApplied(command: Command): Promise<{ outcome: CommandOutcome } & AppliedTerm> {
    if (hopLedger.enabled) hopLedger.record('server.receive', this.node.id, 0, 0, '', command.correlationId);
    const span = this.tracer.startSpan(
      PROPOSE_SPAN_NAME,
      {
        kind: SpanKind.INTERNAL,
        attributes: commandAttributes(command),
      },
      // Tracing off (the default): the no-op tracer needs no parent, so none is parsed.
      this.tracer === NOOP_TRACER ? undefined : currentTraceContext(),
    );
    try {
      return await this.replicate(command, span);
    } catch (e) {
      // Everything replicate throws is already a ServerError; toServerError only guards a bug.
      const code = toServerError(e).code;
      span.setAttribute('error.type', code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      throw e;
    } finally {
      span.end();
    }
  }

  private async replicate(command: Command, span: Span): Promise<{ outcome: CommandOutcome } & AppliedTerm> {
    const transferWaitUntil = Date.now() + TRANSFER_WAIT_MS;
    if (!this.node.isLeader) {
      // A write that the leader this node knows forwarded here, or handed back after this node
      // forwarded it there, was handed over (handOff): that leader is moving leadership, to this
      // node unless the transfer fails. Wait for the move rather than send the write back to a
      // node that takes no writes.
      await this.leaderChangedFrom(currentForwardedBy() ?? currentHandedBackBy(), transferWaitUntil);
      // Between a leader stepping down and the next one being known (a transfer, an election),
      // wait briefly: NOT_LEADER that names the leader lets the edges forward the write at once.
      await this.leaderKnown(transferWaitUntil);
      if (!this.node.isLeader) throw this.notLeader();
    }
    let commandBytes: Uint8Array;
    try {
      commandBytes = encodeCommand(command);
    } catch (e) {
      throw fromLeadershipError(e);
    }
    const transport = currentTransport();
    const principal = currentPrincipal()?.name ?? '';
    let result: ApplyResult;
    for (;;) {
      // A fresh stamp per attempt: the leader's stamps must not go back between entries.
      const bytes = encodeEnvelope({
        stampMs: this.sm.clock.next(),
        proposerId: this.node.id,
        command: commandBytes,
        transport,
        principal,
      });
      const proposedAtMs = performance.now();
      try {
        // `proposed` marks the hand-off to the Raft node (a refusal such as BACKPRESSURE then fails
        // the span); the entry's index and term are known only once it is applied.
        const applied = this.node.propose(bytes);
        span.addEvent('proposed', { 'omnirelay.command.bytes': bytes.byteLength });
        result = await applied;
        this.onProposal('committed', (performance.now() - proposedAtMs) / 1000);
        break;
      } catch (e) {
        const error = toServerError(e);
        this.onProposal(error.code, (performance.now() - proposedAtMs) / 1000);
        if (error.code === 'NOT_LEADER') throw this.notLeader();
        // Leadership is moving (a planned transfer): the write was refused, not applied. Wait for
        // the move to finish rather than bounce the client into a backoff; then the edges forward
        // the write to the new leader (NOT_LEADER), or this node retries if the transfer failed.
        if (error.code !== 'TRANSFER_IN_PROGRESS' || Date.now() >= transferWaitUntil) throw error;
        // A client's write goes to the transfer's target now, to wait there for the move and be
        // proposed the moment the target leads, rather than after this node learns the new leader.
        const handOff = this.handOff(error);
        if (handOff !== undefined) throw handOff;
        await this.leaderChangeOr(TRANSFER_POLL_MS);
        // The old leader first steps down with no leader known (the target's vote request), then
        // learns the new one from its first append.
        await this.leaderKnown(transferWaitUntil);
        if (!this.node.isLeader) throw this.notLeader();
      }
    }
    // Applied means committed by a quorum first: RaftNode resolves only after both. The applied
    // listener ran inside apply, before RaftNode resolved the proposal, so the term is there.
    const term = this.appliedTerms.get(result);
    assert(term !== undefined, () => `no Raft term recorded for the applied entry at index ${result.index}`);
    span.addEvent('applied', {
      'omnirelay.raft.index': result.index,
      'omnirelay.raft.term': term,
      'omnirelay.command.ok': result.ok,
    });
    span.setAttribute('omnirelay.raft.index', result.index);
    if (hopLedger.enabled) {
      hopLedger.record('server.answer', this.node.id, result.index, term, '', command.correlationId);
    }
    if (!result.ok) throw fromLeadershipError(result.error);
    return { outcome: result.outcome, raftTerm: term };
  }

  /**
   * handOff is NOT_LEADER naming the target of the transfer that refused a write (`refused`,
   * TRANSFER_IN_PROGRESS), so that the edge that took the write forwards it there at once, to
   * wait there for the move and be proposed the moment the target leads, rather than once this
   * node has learned the new leader from its first append (about a third of a transfer's time to
   * the first new-term write: bench/README.md "hops"). The target keeps such a write until it
   * leads or knows it will not (leaderChangedFrom), and the forwarding edge ends the call if the
   * target has not taken office in time (GrpcForwarder, HAND_OFF_ANSWER_MS_MAX). A write the
   * target itself forwarded here goes back to it the same way: the target's edge, which holds the
   * client's call, serves it there once more (GrpcForwarder.forwardUnary's `serveHere`), without
   * a second hop. Undefined, and the write waits here for the move as before, when the edge does
   * not take hand-offs (HTTP), for a write of the server's own or one another member forwarded
   * here (a second hop would not carry the client's forwarded credentials on), and when the
   * target's public gRPC address is unknown.
   */
  private handOff(refused: ServerError): ServerError | undefined {
    const target = refused.details['leaderHint'];
    if (typeof target !== 'string' || target === '' || target === this.node.id) return undefined;
    const forwardedBy = currentForwardedBy();
    if (!currentTakesHandOff() || (forwardedBy !== undefined && forwardedBy !== target)) return undefined;
    const grpc = this.leaderAddress(target)?.grpc;
    if (grpc === undefined) return undefined;
    return new ServerError(
      'NOT_LEADER',
      `node ${this.node.id} is handing leadership to ${target}; send it to ${target} (gRPC ${grpc})`,
      { leaderHint: target, leaderGrpcAddress: grpc },
    );
  }

  /**
   * leaderChangedFrom waits (until `untilMs`) while this node does not lead and takes `forwarder`,
   * the member that forwarded the write being served here or handed it back, for the leader (see
   * handOff).
   */
  private async leaderChangedFrom(forwarder: string | undefined, untilMs: number): Promise<void> {
    if (forwarder === undefined) return;
    while (!this.node.isLeader && this.node.leaderId === forwarder && Date.now() < untilMs) {
      await this.leaderChangeOr(TRANSFER_POLL_MS);
    }
  }

  /** leaderKnown waits (until `untilMs`) while this node does not lead and knows no leader. */
  private async leaderKnown(untilMs: number): Promise<void> {
    while (!this.node.isLeader && this.node.leaderId === '' && Date.now() < untilMs) {
      await this.leaderChangeOr(TRANSFER_POLL_MS);
    }
  }

  /**
   * leaderChangeOr resolves when the node reports a leader change, or after `ms`. Every waiting
   * write shares the service's one listener (leaderWaiters): thousands of writes held through an
   * election do not add a node listener each.
   */
  private leaderChangeOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.leaderWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.leaderWaiters.add(done);
    });
  }

  private async readBarrier(consistency: ReadConsistency): Promise<void> {
    if (consistency === 'serializable') return;
    if (!this.node.isLeader) throw this.notLeader();
    try {
      await this.node.readBarrier();
    } catch (e) {
      const error = toServerError(e);
      if (error.code === 'NOT_LEADER') throw this.notLeader();
      throw error;
    }
  }

  private wrap<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw fromLeadershipError(e);
    }
  }

  /**
   * onLeadershipLost calls `listener` once, when this node stops leading (as soon as its successor
   * is known, or SUCCESSOR_WAIT_MS after it stepped down without one); the result unsubscribes.
   */
  onLeadershipLost(listener: () => void): () => void {
    this.leadershipLost.add(listener);
    return () => this.leadershipLost.delete(listener);
  }

  private leadershipEnded(): void {
    clearTimeout(this.lostTimer);
    this.lostTimer = undefined;
    if (this.node.isLeader) return;
    const listeners = [...this.leadershipLost];
    this.leadershipLost.clear();
    for (const listener of listeners) listener();
  }

  /**
   * notLeader builds NOT_LEADER with the leader's id and, when known, its client addresses:
   * `leaderAddress` (HTTP) and `leaderGrpcAddress` (public gRPC).
   */
  notLeader(): ServerError {
    const leader = this.node.leaderId;
    const addresses = leader === '' ? undefined : this.leaderAddress(leader);
    const http = addresses?.http;
    const grpc = addresses?.grpc;
    const at = [http === undefined ? '' : `HTTP ${http}`, grpc === undefined ? '' : `gRPC ${grpc}`]
      .filter((a) => a !== '')
      .join(', ');
    const where =
      leader === ''
        ? 'no leader is known right now; retry shortly'
        : `send it to ${leader}${at === '' ? '' : ` (${at})`}`;
    return new ServerError('NOT_LEADER', `node ${this.node.id} is not the leader; ${where}`, {
      leaderHint: leader,
      ...(http === undefined ? {} : { leaderAddress: http }),
      ...(grpc === undefined ? {} : { leaderGrpcAddress: grpc }),
    });
  }
}

/**
 * TRANSFER_WAIT_MS bounds how long a write waits for a planned leadership transfer to finish, or
 * for a leader to be known after one stepped down, before it is answered TRANSFER_IN_PROGRESS or
 * NOT_LEADER (the core gives a transfer one election timeout).
 */
export const TRANSFER_WAIT_MS = 1000;
/** TRANSFER_POLL_MS: a waiting write looks again this often (a leader change wakes it at once). */
const TRANSFER_POLL_MS = 5;

/**
 * SUCCESSOR_WAIT_MS is how long a leader that stepped down waits to learn its successor before it
 * tells onLeadershipLost's listeners anyway (a transfer's successor is known within milliseconds;
 * after a partition there may be none for an election timeout).
 */
export const SUCCESSOR_WAIT_MS = 250;

/** PROPOSE_SPAN_NAME names the span around one replicated write: propose → commit → apply. */
const PROPOSE_SPAN_NAME = 'leadership.propose';

/** commandAttributes are the span attributes that say which write this is. */
function commandAttributes(command: Command): Attributes {
  return {
    'omnirelay.command.type': command.type,
    'omnirelay.correlation_id': command.correlationId,
    ...('scope' in command ? { 'omnirelay.scope': command.scope } : {}),
  };
}

/** sessionOf is a command's sessionId field for `req`: absent when the request named no session. */
function sessionOf(req: AcquireRequest): { sessionId?: string } {
  return req.sessionId === undefined ? {} : { sessionId: req.sessionId };
}

function expectOutcome<T extends CommandOutcome['type']>(
  o: CommandOutcome,
  type: T,
): Extract<CommandOutcome, { type: T }> {
  if (o.type !== type) throw new ServerError('INTERNAL', `expected a ${type} outcome, got ${o.type}`);
  return o as Extract<CommandOutcome, { type: T }>;
}

/** fromLeadershipError maps the FSM's typed errors (thrown or returned) onto the server's codes. */
export function fromLeadershipError(e: unknown): ServerError {
  if (isServerError(e)) return e;
  const isCommandError =
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string';
  if (!isLeadershipError(e) && !isCommandError) return toServerError(e);
  const { code, message } = e as { code: string; message: string };
  const mapped: ErrorCode =
    code in ERROR_TABLE ? (code as ErrorCode) : (LEADERSHIP_CODE_MAP[code] ?? 'INVALID_ARGUMENT');
  // The FSM's context fields (scope, field, limit, currentFenceToken, ...) travel in the error body.
  const details: Record<string, string | number | boolean> = {};
  const context = isLeadershipError(e)
    ? ((e as unknown as { context?: Record<string, unknown> }).context ?? {})
    : (e as Record<string, unknown>);
  for (const [k, v] of Object.entries(context)) {
    if (k === 'code' || k === 'message') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') details[k] = v;
    else if (typeof v === 'bigint') details[k] = v.toString();
  }
  return new ServerError(mapped, message, details);
}

const LEADERSHIP_CODE_MAP: Readonly<Record<string, ErrorCode>> = {
  MALFORMED_COMMAND: 'INVALID_ARGUMENT',
  UNKNOWN_COMMAND: 'INVALID_ARGUMENT',
  COMMAND_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INVALID_SNAPSHOT: 'INTERNAL',
};
