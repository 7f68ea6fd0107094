import type * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ErrorCode } from './errors';
import {
  OmniRelayError,
  RETRYABLE_CODES,
  abortError,
  aborted,
  fromGrpcError,
  isOmniRelayError,
} from './errors';
import type { ClustersView, FailoverRecordView, FailoverStepOptions, SetClusterOptions } from './clusters';
import { clustersView, failoverRecordView } from './clusters';
import type { ClusterEndpoints, ClusterEvent } from './cluster-follower';
import { ClusterFollower, checkClusters } from './cluster-follower';
import { BestEffortQueue } from './best-effort-queue';
import { KeepAlive } from './keep-alive';
import type { RenewalEvent } from './keep-alive';
import type { LeaseEndReason, LeaseHooks } from './lease';
import { Lease, leaseKey } from './lease';
import type { CallSpec, TlsOptions } from './router';
import { ONLY_NOT_APPLIED, Router, backoffMs, retryDelayMs, sleep } from './router';
import type { TokenSource } from './token';
import type { WatchOptions } from './watch';
import { watchEvents } from './watch';
import { WatchMuxes } from './watch-mux';
import type { SnapshotOptions } from './snapshot';
import { downloadSnapshot } from './snapshot';
import type { HolderRef, LeadershipEvent, LeaseView, WireLease } from './wire';
import { big, holderRef, leaseView, optionalLeaseView } from './wire';

/** ClientOptions configures createClient. */
export interface ClientOptions {
  /**
   * endpoints are `host:port` of the nodes' gRPC APIs (any subset; the SDK learns the rest). Give
   * either endpoints (one cluster) or clusters (an active/passive group), not both.
   */
  readonly endpoints?: readonly string[];
  /**
   * clusters are the clusters of an active/passive group (docs/cross-cluster.md): the client asks
   * them which one is active (Cluster.Clusters), sends everything there, and follows a failover on
   * its own: on CLUSTER_PASSIVE, when the followed cluster stops answering, and on a periodic check
   * it moves to the active cluster at the highest failover epoch. Moving ends every lease of the
   * cluster it left (reason `failover`, their signals abort) before anything is granted on the new
   * one, so a LeaderElector simply campaigns again there.
   */
  readonly clusters?: readonly ClusterEndpoints[];
  /** clusterCheckMs is how often a multi-cluster client asks the followed cluster whether it is still active (default 1,000). */
  readonly clusterCheckMs?: number;
  /** onClusterEvent hears which cluster a multi-cluster client follows, and failed probes (for logs). What it throws is ignored. */
  readonly onClusterEvent?: (event: ClusterEvent) => void;
  /** tls turns on TLS (the default is plaintext h2c, for loopback and meshes that encrypt). */
  readonly tls?: TlsOptions;
  /**
   * token is sent as `authorization: Bearer <token>` on every call and stream, to every node and
   * on every reconnect: 16-512 characters from [A-Za-z0-9._~+/=-], checked here (INVALID_ARGUMENT,
   * never naming the token). A function is called for each call and stream, so a rotated token
   * applies without a new client; an open stream keeps the token it was opened with.
   */
  readonly token?: TokenSource;
  /** candidateId names this client in campaigns (default: `<hostname>-<pid>-<random>`). */
  readonly candidateId?: string;
  /** callTimeoutMs bounds every call, retries included (default 5,000). */
  readonly callTimeoutMs?: number;
  /**
   * attemptTimeoutMs bounds one attempt of a call that is safe to send again (reads, acquire,
   * resign), and is how long a renewal may go unanswered before the SDK asks its node whether
   * it still runs (default 1,000, at most callTimeoutMs; about twice the cluster's
   * --election-timeout-ms is right). A leader that is frozen (SIGSTOP, a long pause) is then
   * left after this long: the call goes on to the other nodes, which name the new leader once
   * one is elected, and the KeepAlive stream and campaigns move there too.
   */
  readonly attemptTimeoutMs?: number;
  /**
   * maxClockSkewMs is the largest clock difference assumed between the nodes; it must match
   * the cluster's --skew-ms-max (default 250). A lease's signal aborts this long before the
   * lease could lapse on the cluster.
   */
  readonly maxClockSkewMs?: number;
  /**
   * maxClockDriftPpm is how much faster than real time the cluster's lease time may run; it must
   * match the cluster's --clock-drift-ppm-max (default 500). A lease's margin is
   * maxClockSkewMs + ttl × this rate: with a 1 h TTL, 250 + 1,800 ms.
   */
  readonly maxClockDriftPpm?: number;
  /** backoffBaseMs and backoffMaxMs shape retry backoff (default 25 and 1,000). */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /**
   * keepaliveMs is how often an idle connection is pinged, and how long a ping may go
   * unanswered before the connection is dropped and its streams move to another node
   * (default 5,000; a silently dead path is noticed within twice this).
   */
  readonly keepaliveMs?: number;
  /**
   * multiplexCalls (default true) sends the unary calls to each node (acquire, resign, reads…)
   * over one Leadership.Calls stream rather than as one HTTP/2 stream each, which costs both ends
   * less per call; a node without Calls (an older build) gets them on their own. false makes
   * every call on its own.
   */
  readonly multiplexCalls?: boolean;
  /**
   * onRenewal hears each step of every automatic renewal (RenewalEvent: sent, then renewed,
   * refused or unanswered), synchronously and in order, so a caller can record which renewals
   * the cluster confirmed, refused or left unknown. What it throws is ignored.
   */
  readonly onRenewal?: (event: RenewalEvent) => void;
}

/** AcquireOptions configures Client.acquire and Client.campaign. */
export interface AcquireOptions {
  /** ttlMs is the lease TTL: the cluster's bounds are 500 ms to 1 h. */
  readonly ttlMs: number;
  /** metadata is your opaque string (an address, JSON), at most 1,024 bytes. */
  readonly metadata?: string;
  /** candidateId overrides the client's for this lease. */
  readonly candidateId?: string;
  /**
   * releaseOnResetMs asks the Raft leader to release the lease when the client's KeepAlive
   * stream resets (the process died, the connection broke) and is not re-established within
   * this many ms, so a crashed holder is replaced well under its TTL (50..ttlMs; 0 = off).
   */
  readonly releaseOnResetMs?: number;
  readonly correlationId?: string;
  readonly signal?: AbortSignal;
}

/** CampaignOptions adds the queue priority and progress to AcquireOptions. */
export interface CampaignOptions extends AcquireOptions {
  /** priority: when the scope falls vacant the highest waiting priority wins; ties go to the earliest. */
  readonly priority?: number;
  /** onQueued hears the queue position and the current holder while waiting. */
  readonly onQueued?: (info: { position: number; holder: LeaseView | null }) => void;
}

/** ReadOptions picks the consistency of a read. */
export interface ReadOptions {
  /** serializable answers from the node that gets the call (faster, may be stale); default linearizable. */
  readonly serializable?: boolean;
  /** signal cancels the call (it rejects with CANCELLED). */
  readonly signal?: AbortSignal;
}

/** NodeStatus is one node's Cluster.Status. */
export interface NodeStatus {
  readonly address: string;
  readonly nodeId: string;
  readonly role: string;
  readonly term: bigint;
  readonly leader: string;
  readonly commit: bigint;
  readonly applied: bigint;
  readonly members: readonly { readonly id: string; readonly voter: boolean }[];
}

/** MemberInfo is one member as Cluster.Members reports it. */
export interface MemberInfo {
  readonly id: string;
  readonly voter: boolean;
  readonly self: boolean;
  readonly peerAddress: string;
  readonly connected: boolean;
  /** match and lag are the leader's replication progress (-1 when answered by a follower). */
  readonly match: number;
  readonly lagEntries: number;
}

/** Members is Cluster.Members' answer. */
export interface Members {
  readonly nodeId: string;
  readonly leader: string;
  readonly members: readonly MemberInfo[];
}

/** StepDownOptions configures Client.stepDown. */
export interface StepDownOptions {
  /** to names the successor: a waiting candidate, or any candidate with successorTtlMs. */
  readonly to?: string;
  readonly successorTtlMs?: number;
  readonly successorMetadata?: string;
  /** fence, when given, must be the holder's (an operator acting on an old view cannot remove a newer holder). */
  readonly fence?: bigint;
  readonly correlationId?: string;
}

/** StepDownResult says who was removed and who holds the scope now. */
export interface StepDownResult {
  readonly scope: string;
  readonly previous: HolderRef | null;
  readonly successor: LeaseView | null;
  readonly raftTerm: bigint;
}

/** DEFAULTS of ClientOptions. */
const DEFAULTS = {
  callTimeoutMs: 5000,
  attemptTimeoutMs: 1000,
  maxClockSkewMs: 250,
  maxClockDriftPpm: 500,
  backoffBaseMs: 25,
  backoffMaxMs: 1000,
  keepaliveMs: 5000,
  clusterCheckMs: 1000,
} as const;

/** CLUSTER_PROBE_TIMEOUT_MS bounds one Clusters question to one node while looking for the active cluster. */
const CLUSTER_PROBE_TIMEOUT_MS = 1000;

/** REPROBE_AFTER_FAILURES is how many failed campaign attempts in a row make a multi-cluster client look for another active cluster. */
const REPROBE_AFTER_FAILURES = 2;

/** SESSION_ID_BYTES is how many random bytes make a client's session id (hex: 32 characters, within the cluster's 64). */
const SESSION_ID_BYTES = 16;

/** RESIGN_RETRY: a resign may go again after any retryable failure (a repeated resign is refused harmlessly). */
const RESIGN_RETRY: ReadonlySet<ErrorCode> = new Set<ErrorCode>([...RETRYABLE_CODES, 'DEADLINE_EXCEEDED']);

/**
 * OmniRelayClient talks to an OmniRelay cluster: it campaigns for scopes, keeps leases alive,
 * watches who leads, validates fences and runs operator commands. Create one per process with
 * createClient and close it on shutdown.
 */
export class OmniRelayClient {
  /** candidateId is this client's default candidate id. */
  readonly candidateId: string;
  /**
   * sessionId names this client instance to the cluster: random, made once per client and sent
   * with every acquire and campaign. The leases it wins belong to it, so a retry from this client
   * gets its lease back, while another client (another process) with the same candidate id is
   * refused with HELD_BY_OTHER_SESSION instead of holding the same lease with the same fence.
   */
  readonly sessionId: string;
  private readonly router: Router;
  /** watchMuxes carry every watch of this client on one WatchStream call per node. */
  private readonly watchMuxes: WatchMuxes;
  /** keepAlive renews the leases of the followed cluster; a failover replaces it (one stream per cluster). */
  private keepAlive: KeepAlive;
  /** follower picks the active cluster of a multi-cluster client (undefined with plain endpoints). */
  private readonly follower: ClusterFollower | undefined;
  private readonly switchListeners = new Set<(clusterId: string) => void>();
  /**
   * leases are the held leases by key. One Lease object per held lease: a repeated acquire or
   * campaign that the cluster answers with the lease this client already holds returns that same
   * object, so ending it (resign, refusal, close) ends it for every caller. Two objects would
   * share one keep-alive entry, and the one left over would look valid after the cluster freed
   * the scope.
   */
  private readonly leases = new Map<string, Lease>();
  private readonly callTimeoutMs: number;
  private readonly skewMs: number;
  private readonly driftPpm: number;
  private readonly backoff: { backoffBaseMs: number; backoffMaxMs: number };
  private readonly hooks: LeaseHooks;
  private closed = false;
  /** unconfirmedResigns runs the best-effort resigns of leases whose renewal was never confirmed, a few at a time. */
  private readonly unconfirmedResigns = new BestEffortQueue();

  constructor(options: ClientOptions) {
    this.callTimeoutMs = positive(options.callTimeoutMs ?? DEFAULTS.callTimeoutMs, 'callTimeoutMs');
    const attemptTimeoutMs = checkAttemptTimeout(options.attemptTimeoutMs, this.callTimeoutMs);
    this.skewMs = nonNegative(options.maxClockSkewMs ?? DEFAULTS.maxClockSkewMs, 'maxClockSkewMs');
    this.driftPpm = nonNegative(options.maxClockDriftPpm ?? DEFAULTS.maxClockDriftPpm, 'maxClockDriftPpm');
    this.backoff = {
      backoffBaseMs: positive(options.backoffBaseMs ?? DEFAULTS.backoffBaseMs, 'backoffBaseMs'),
      backoffMaxMs: positive(options.backoffMaxMs ?? DEFAULTS.backoffMaxMs, 'backoffMaxMs'),
    };
    this.candidateId =
      options.candidateId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.sessionId = randomBytes(SESSION_ID_BYTES).toString('hex');
    const endpoints = clientEndpoints(options);
    this.router = new Router({
      endpoints,
      callTimeoutMs: this.callTimeoutMs,
      attemptTimeoutMs,
      keepaliveMs: positive(options.keepaliveMs ?? DEFAULTS.keepaliveMs, 'keepaliveMs'),
      ...(options.multiplexCalls === undefined ? {} : { multiplexCalls: options.multiplexCalls }),
      ...this.backoff,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.token === undefined ? {} : { token: options.token }),
    });
    const keepAliveOptions = {
      skewMs: this.skewMs,
      ...this.backoff,
      ...(options.onRenewal === undefined ? {} : { onRenewal: options.onRenewal }),
    };
    this.keepAlive = new KeepAlive(this.router, keepAliveOptions);
    this.watchMuxes = new WatchMuxes(this.router);
    this.follower =
      options.clusters === undefined
        ? undefined
        : new ClusterFollower({
            clusters: options.clusters,
            probe: (cluster) => this.probeCluster(cluster),
            switchTo: (cluster) => this.switchCluster(cluster, keepAliveOptions),
            checkIntervalMs: positive(options.clusterCheckMs ?? DEFAULTS.clusterCheckMs, 'clusterCheckMs'),
            ...this.backoff,
            ...(options.onClusterEvent === undefined ? {} : { onEvent: options.onClusterEvent }),
          });
    this.hooks = {
      renew: (lease) => this.keepAlive.renew(lease, this.callTimeoutMs),
      resign: (lease) => this.resignLease(lease),
      ended: (lease: Lease, reason: LeaseEndReason, error: OmniRelayError) =>
        this.leaseEnded(lease, reason, error),
    };
  }

  /**
   * acquire takes `scope` now if it is vacant and resolves to the Lease; it resolves to null when
   * another candidate holds it (getLeader says who). Acquiring a scope this candidate already
   * holds through this client returns that lease; through another client (another session) it
   * rejects with HELD_BY_OTHER_SESSION.
   */
  async acquire(scope: string, options: AcquireOptions): Promise<Lease | null> {
    const releaseOnResetMs = this.checkLeaseOptions(options);
    await this.follower?.ready();
    try {
      return await this.acquireOnce(scope, options, releaseOnResetMs);
    } catch (e) {
      // A passive cluster names the active one: follow it and try there once.
      if (!(await this.followRefusal(e))) throw e;
      return this.acquireOnce(scope, options, releaseOnResetMs);
    }
  }

  /** acquireOnce is one Acquire on the followed cluster. */
  private async acquireOnce(
    scope: string,
    options: AcquireOptions,
    releaseOnResetMs: number,
  ): Promise<Lease | null> {
    const generation = this.follower?.generation;
    const sentAt = performance.now();
    const r = await this.router.call<{
      granted: boolean;
      alreadyHolder: boolean;
      lease: WireLease | null;
      raftTerm?: string;
    }>(
      'Leadership',
      'Acquire',
      {
        scope,
        candidateId: options.candidateId ?? this.candidateId,
        sessionId: this.sessionId,
        metadata: options.metadata ?? '',
        leaseTtlMs: options.ttlMs,
        ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
      },
      // A retry in this session gets the lease an abandoned attempt may have won (alreadyHolder).
      {
        leader: true,
        retryUnanswered: true,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
    if (!r.granted || r.lease === null) return null;
    if (generation !== this.follower?.generation) {
      throw new OmniRelayError(
        'CLUSTER_PASSIVE',
        `the lease on ${scope} came from a cluster this client has left (it follows ${this.activeClusterId ?? 'another cluster'} now); acquire again`,
      );
    }
    // A fresh grant was applied after the first attempt was sent, so that send time is a safe
    // base; a lease held before this call has an unknown base and is confirmed by a renewal first.
    return this.hold(
      leaseView(r.lease),
      big(r.raftTerm),
      releaseOnResetMs,
      r.alreadyHolder ? undefined : sentAt,
    );
  }

  /**
   * campaign joins the scope's queue and resolves to the Lease once elected. It keeps
   * campaigning across leader changes and node restarts; abort `signal` to withdraw (the
   * promise then rejects with CANCELLED). An election that comes too late to be sure the lease is
   * still alive is confirmed by a renewal before the promise resolves, so the SDK never reports
   * a lease the cluster may already have given away. It rejects with HELD_BY_OTHER_SESSION when
   * another client holds or waits for the scope with the same candidate id.
   */
  async campaign(scope: string, options: CampaignOptions): Promise<Lease> {
    const releaseOnResetMs = this.checkLeaseOptions(options);
    const request = {
      scope,
      candidateId: options.candidateId ?? this.candidateId,
      sessionId: this.sessionId,
      metadata: options.metadata ?? '',
      leaseTtlMs: options.ttlMs,
      priority: options.priority ?? 0,
      ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
    };
    let failures = 0;
    await this.follower?.ready();
    for (;;) {
      if (aborted(options.signal)) throw abortError(`the campaign for ${scope}`);
      this.assertOpen();
      const generation = this.follower?.generation;
      const address = this.router.pick();
      const sentAt = performance.now();
      let elected: { lease: WireLease; raftTerm?: string; alreadyHolder?: boolean; queuedFirst: boolean };
      try {
        elected = await this.campaignOnce(address, request, options);
      } catch (e) {
        if (!isOmniRelayError(e)) throw e;
        if (!aborted(options.signal) && (await this.followRefusal(e))) {
          failures = 0;
          continue;
        }
        if (e.code === 'CLUSTER_PASSIVE' && this.follower !== undefined && !aborted(options.signal)) {
          // No other cluster is active yet (a failover in progress): wait and ask again.
          failures++;
          await sleep(backoffMs(failures, this.backoff), options.signal);
          continue;
        }
        if (e.code === 'CANCELLED' || !RETRYABLE_CODES.has(e.code) || aborted(options.signal)) {
          throw aborted(options.signal) ? abortError(`the campaign for ${scope}`) : e;
        }
        this.router.noteFailure(address, e);
        failures++;
        if (this.router.knownLeaderAddress === undefined) await this.router.discover(options.signal);
        // The whole followed cluster may be gone: look for another active one (rate-limited).
        if (failures >= REPROBE_AFTER_FAILURES && this.router.knownLeaderAddress === undefined) {
          await this.follower?.reprobe(`${e.code} from the followed cluster`);
        }
        await sleep(
          e.code === 'NOT_LEADER' && failures <= 2 ? 0 : retryDelayMs(e, failures, this.backoff),
          options.signal,
        );
        continue;
      }
      // A grant announced on this call after `queued` happened after the call was sent; one
      // announced at once may be a lease held from before (a campaign retried after a disconnect),
      // whose base is unknown: confirm it with a renewal first.
      // A grant from a cluster the client left while the campaign ran is never handed out.
      if (generation !== this.follower?.generation) continue;
      const fresh = elected.alreadyHolder !== true && (elected.queuedFirst || failures === 0);
      const lease = await this.holdConfirmed(
        leaseView(elected.lease),
        big(elected.raftTerm),
        releaseOnResetMs,
        fresh ? sentAt : undefined,
      );
      if (lease !== null) return lease;
      // The lease was refused on confirmation (it lapsed and went elsewhere): campaign again.
      failures = 0;
    }
  }

  /** renew renews `lease` now and resolves once a renewal sent after the call is confirmed. */
  renew(lease: Lease): Promise<void> {
    return this.keepAlive.renew(lease, this.callTimeoutMs);
  }

  /** stepDown (operator) removes the scope's holder, optionally handing it to `to`. */
  async stepDown(scope: string, options: StepDownOptions = {}): Promise<StepDownResult> {
    const r = await this.router.call<{
      scope: string;
      previousHolder: { candidateId: string; fenceToken: string } | null;
      successor: WireLease | null;
      raftTerm?: string;
    }>(
      'Leadership',
      'StepDown',
      {
        scope,
        ...(options.fence === undefined ? {} : { fenceToken: options.fence.toString() }),
        ...(options.to === undefined ? {} : { successorId: options.to }),
        ...(options.successorTtlMs === undefined ? {} : { successorLeaseTtlMs: options.successorTtlMs }),
        ...(options.successorMetadata === undefined ? {} : { successorMetadata: options.successorMetadata }),
        ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
      },
      // Without a fence a repeated step-down could remove the next holder: retry only what was not applied.
      { leader: true, ...(options.fence === undefined ? { retry: ONLY_NOT_APPLIED } : {}) },
    );
    return {
      scope: r.scope,
      previous: r.previousHolder === null ? null : holderRef(r.previousHolder),
      successor: optionalLeaseView(r.successor),
      raftTerm: big(r.raftTerm),
    };
  }

  /** getLeader returns the scope's current lease, or null when vacant. */
  async getLeader(scope: string, options: ReadOptions = {}): Promise<LeaseView | null> {
    const r = await this.router.call<{ leader: WireLease | null }>(
      'Leadership',
      'GetLeader',
      { scope, serializable: options.serializable === true },
      readSpec(options),
    );
    return optionalLeaseView(r.leader);
  }

  /** listLeaders returns one page of held scopes (by name), with the token of the next page ('' on the last). */
  async listLeaders(
    options: ReadOptions & { prefix?: string; pageToken?: string; limit?: number } = {},
  ): Promise<{ leaders: LeaseView[]; nextPageToken: string }> {
    const r = await this.router.call<{ leaders: WireLease[]; nextPageToken: string }>(
      'Leadership',
      'ListLeaders',
      {
        prefix: options.prefix ?? '',
        pageToken: options.pageToken ?? '',
        limit: options.limit ?? 0,
        serializable: options.serializable === true,
      },
      readSpec(options),
    );
    return { leaders: r.leaders.map(leaseView), nextPageToken: r.nextPageToken };
  }

  /** allLeaders lists every held scope under `prefix`, page by page (at most `max`, default 100,000). */
  async allLeaders(options: ReadOptions & { prefix?: string; max?: number } = {}): Promise<LeaseView[]> {
    const max = options.max ?? 100_000;
    const all: LeaseView[] = [];
    let pageToken = '';
    do {
      const page = await this.listLeaders({ ...options, pageToken, limit: 1000 });
      all.push(...page.leaders);
      pageToken = page.nextPageToken;
    } while (pageToken !== '' && all.length < max);
    return all.slice(0, max);
  }

  /**
   * validateFence checks a fence token against the cluster: valid only if it is the current
   * holder's. (Downstream resources that see many writes should use FenceGuard, which needs no
   * round trip.)
   */
  async validateFence(
    scope: string,
    fence: bigint,
    options: ReadOptions = {},
  ): Promise<{ valid: boolean; current: LeaseView | null }> {
    const r = await this.router.call<{ valid: boolean; current: WireLease | null }>(
      'Leadership',
      'ValidateFence',
      { scope, fenceToken: fence.toString(), serializable: options.serializable === true },
      readSpec(options),
    );
    return { valid: r.valid, current: optionalLeaseView(r.current) };
  }

  /**
   * watch yields every holder change of scopes under `prefix` (empty: all), resuming after any
   * disconnect or node restart with no gap and no duplicate. Break out of the loop or abort
   * `signal` to stop.
   */
  watch(prefix: string, options: WatchOptions = {}): AsyncIterable<LeadershipEvent> {
    this.assertOpen();
    return watchEvents(this.router, this.watchMuxes, prefix, options, {
      callTimeoutMs: this.callTimeoutMs,
      ...this.backoff,
    });
  }

  /** status returns one node's status (`address`, or whichever node answers first in turn). */
  async status(options: { address?: string; signal?: AbortSignal } = {}): Promise<NodeStatus> {
    const address = options.address;
    for (let attempt = 0; ; attempt++) {
      const target = address ?? this.router.addresses[attempt % this.router.addresses.length]!;
      try {
        return nodeStatus(
          target,
          await this.router.once('Cluster', 'Status', {}, target, this.callTimeoutMs, options.signal),
        );
      } catch (e) {
        if (address !== undefined || attempt + 1 >= this.router.addresses.length) throw e;
      }
    }
  }

  /** statusAll asks every endpoint for its status; each entry is a status or the error of that node. */
  async statusAll(): Promise<(NodeStatus | { address: string; error: OmniRelayError })[]> {
    return Promise.all(
      this.router.addresses.map(async (address) => {
        try {
          return nodeStatus(
            address,
            await this.router.once('Cluster', 'Status', {}, address, this.callTimeoutMs),
          );
        } catch (e) {
          return { address, error: isOmniRelayError(e) ? e : fromGrpcError(e, address) };
        }
      }),
    );
  }

  /**
   * clusters returns the cross-cluster state of the cluster it reaches: descriptors, state,
   * failover epoch and the passive mirror's replication (read on the Raft leader). With
   * `address`, it asks that node once, with no retry and no redirect, within `timeoutMs`
   * (default: callTimeoutMs): a probe of whether the cluster answers there.
   */
  async clusters(options: { address?: string; timeoutMs?: number } = {}): Promise<ClustersView> {
    const timeoutMs =
      options.timeoutMs === undefined ? {} : { timeoutMs: positive(options.timeoutMs, 'timeoutMs') };
    if (options.address !== undefined) {
      return clustersView(
        await this.router.call(
          'Cluster',
          'Clusters',
          {},
          { leader: true, address: options.address, ...timeoutMs },
        ),
      );
    }
    return clustersView(
      await this.router.call(
        'Cluster',
        'Clusters',
        {},
        { leader: true, retryUnanswered: true, ...timeoutMs },
      ),
    );
  }

  /**
   * recordFailoverStep appends one step of a failover workflow to the failover history of the
   * cluster it reaches (mesh.admin) and returns the record; a bad step is INVALID_ARGUMENT.
   */
  async recordFailoverStep(options: FailoverStepOptions): Promise<FailoverRecordView> {
    return failoverRecordView(
      await this.router.call(
        'Cluster',
        'RecordFailoverStep',
        {
          step: options.step,
          detail: options.detail ?? '',
          reason: options.reason ?? '',
          correlationId: options.correlationId,
        },
        { leader: true, retry: ONLY_NOT_APPLIED },
      ),
    );
  }

  /**
   * setCluster replicates a cluster descriptor (mesh.admin) and returns the cross-cluster state
   * after it; refusals (EPOCH_REGRESSION, INVALID_ARGUMENT) are OmniRelayErrors.
   */
  async setCluster(options: SetClusterOptions): Promise<ClustersView> {
    return clustersView(
      await this.router.call(
        'Cluster',
        'SetCluster',
        {
          peer: options.peer ?? false,
          clusterId: options.clusterId,
          region: options.region ?? '',
          priority: options.priority ?? 0,
          state: options.state,
          failoverEpoch: options.failoverEpoch ?? 0,
          endpoints: [...(options.endpoints ?? [])],
          reason: options.reason ?? '',
          correlationId: options.correlationId ?? '',
        },
        { leader: true, retry: ONLY_NOT_APPLIED },
      ),
    );
  }

  /** members lists the configuration with link state and (from the leader) replication lag. */
  async members(): Promise<Members> {
    return membersOf(
      await this.router.call('Cluster', 'Members', {}, { leader: true, retryUnanswered: true }),
    );
  }

  /** transferLeadership moves Raft leadership to `to` (or the most caught-up voter) and resolves with the new leader. */
  async transferLeadership(to?: string): Promise<{ leader: string; term: bigint }> {
    const r = await this.router.call<{ leader: string; term: string }>(
      'Cluster',
      'TransferLeadership',
      { to: to ?? '' },
      { leader: true, retry: ONLY_NOT_APPLIED },
    );
    this.router.learn('', { leaderId: r.leader });
    return { leader: r.leader, term: big(r.term) };
  }

  /**
   * addLearner adds a non-voting member listening for peers at `peerAddress`. Its client HTTP
   * and public gRPC addresses (`options`), when given, travel in the replicated membership, so
   * every node can forward to it and name it in NOT_LEADER once it leads.
   */
  async addLearner(
    id: string,
    peerAddress: string,
    options: { readonly clientAddress?: string; readonly grpcAddress?: string } = {},
  ): Promise<Members> {
    return membersOf(
      await this.router.call(
        'Cluster',
        'AddLearner',
        {
          id,
          peerAddress,
          ...(options.clientAddress === undefined ? {} : { clientAddress: options.clientAddress }),
          ...(options.grpcAddress === undefined ? {} : { grpcAddress: options.grpcAddress }),
        },
        { leader: true, retry: ONLY_NOT_APPLIED },
      ),
    );
  }

  /** promote makes a caught-up learner a voter. */
  async promote(id: string): Promise<Members> {
    return membersOf(
      await this.router.call('Cluster', 'Promote', { id }, { leader: true, retry: ONLY_NOT_APPLIED }),
    );
  }

  /** removeMember removes a voter or learner. */
  async removeMember(id: string): Promise<Members> {
    return membersOf(
      await this.router.call('Cluster', 'RemoveMember', { id }, { leader: true, retry: ONLY_NOT_APPLIED }),
    );
  }

  /**
   * snapshot downloads a consistent backup taken by the leader (mesh.admin) and hands its bytes,
   * a backup file in order, to `onChunk` (awaited before the next chunk). It resolves with the
   * byte count and the node that served it; a failure after the first chunk rejects, as the
   * caller's copy is then incomplete.
   */
  snapshot(
    onChunk: (chunk: Uint8Array) => void | Promise<void>,
    options: SnapshotOptions = {},
  ): Promise<{ bytes: number; address: string }> {
    this.assertOpen();
    return downloadSnapshot(this.router, onChunk, options);
  }

  /** activeClusterId is the cluster a multi-cluster client follows now (undefined with plain endpoints, or before one was found). */
  get activeClusterId(): string | undefined {
    return this.follower?.activeClusterId;
  }

  /**
   * onClusterSwitch registers `listener` for every move of a multi-cluster client to another
   * cluster (after the old cluster's leases ended); it returns the function that unregisters it.
   * Revisions are per cluster: a watch should start again on the new cluster.
   */
  onClusterSwitch(listener: (clusterId: string) => void): () => void {
    this.switchListeners.add(listener);
    return () => this.switchListeners.delete(listener);
  }

  /** leaseCount is how many leases this client holds and renews. */
  get leaseCount(): number {
    return this.leases.size;
  }

  /**
   * close stops renewing (each held lease's signal aborts with reason `closed`; the cluster
   * keeps them until their TTL unless resigned first) and closes every connection.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const lease of [...this.leases.values()]) lease.end('closed', 'the client was closed');
    this.follower?.close();
    this.keepAlive.close();
    this.unconfirmedResigns.close();
    this.watchMuxes.close();
    this.router.close();
  }

  /**
   * followRefusal acts on a CLUSTER_PASSIVE refusal of a multi-cluster client: it follows the
   * active cluster the refusal named (after a probe confirms it) and resolves true when the client
   * now follows another cluster.
   */
  private async followRefusal(e: unknown): Promise<boolean> {
    if (this.follower === undefined || !isOmniRelayError(e, 'CLUSTER_PASSIVE')) return false;
    return this.follower.hint(e.details.activeClusterId, e.details.activeEndpoints ?? []);
  }

  /** probeCluster asks the nodes of `cluster` in turn for its Clusters state (serializable: any node answers). */
  private async probeCluster(cluster: ClusterEndpoints): Promise<ClustersView> {
    let last: unknown;
    for (const address of cluster.endpoints) {
      try {
        const wire = await this.router.once(
          'Cluster',
          'Clusters',
          { serializable: true },
          address,
          Math.min(CLUSTER_PROBE_TIMEOUT_MS, this.callTimeoutMs),
        );
        return clustersView(wire as Record<string, unknown>);
      } catch (e) {
        last = e;
      }
    }
    throw isOmniRelayError(last)
      ? last
      : new OmniRelayError('UNAVAILABLE', `no node of cluster ${cluster.id} answered`);
  }

  /**
   * switchCluster moves the client to `cluster`: every lease of the cluster it leaves ends first
   * (reason `failover`), then renewals get a fresh stream and calls go to the new cluster's nodes.
   */
  private switchCluster(
    cluster: ClusterEndpoints,
    keepAliveOptions: ConstructorParameters<typeof KeepAlive>[1],
  ): void {
    if (this.closed) return;
    for (const lease of [...this.leases.values()]) {
      lease.end('failover', `this client now follows cluster ${cluster.id}, the active one`);
    }
    this.keepAlive.close();
    this.keepAlive = new KeepAlive(this.router, keepAliveOptions);
    this.router.retarget(cluster.endpoints);
    for (const listener of [...this.switchListeners]) {
      try {
        listener(cluster.id);
      } catch {
        // A listener's failure must not stop the failover.
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new OmniRelayError('CLOSED', 'the client is closed; create a new one');
  }

  private checkLeaseOptions(options: AcquireOptions): number {
    this.assertOpen();
    if (!Number.isInteger(options.ttlMs) || options.ttlMs <= this.skewMs) {
      throw new OmniRelayError(
        'INVALID_ARGUMENT',
        `ttlMs ${options.ttlMs} must be an integer greater than maxClockSkewMs (${this.skewMs}); the cluster allows 500 ms to 1 h`,
      );
    }
    const releaseOnResetMs = options.releaseOnResetMs ?? 0;
    const inRange = releaseOnResetMs === 0 || (releaseOnResetMs >= 50 && releaseOnResetMs <= options.ttlMs);
    if (!Number.isInteger(releaseOnResetMs) || !inRange) {
      throw new OmniRelayError(
        'INVALID_ARGUMENT',
        `releaseOnResetMs ${releaseOnResetMs} must be 0 (off) or an integer from 50 to ttlMs (${options.ttlMs})`,
      );
    }
    // The lease is valid only releaseOnResetMs − skew past each proof that its stream is alive.
    if (releaseOnResetMs !== 0 && releaseOnResetMs <= this.skewMs) {
      throw new OmniRelayError(
        'INVALID_ARGUMENT',
        `releaseOnResetMs ${releaseOnResetMs} must be greater than maxClockSkewMs (${this.skewMs}): the lease is valid only releaseOnResetMs − maxClockSkewMs past the last proof that its KeepAlive stream is alive`,
      );
    }
    return releaseOnResetMs;
  }

  /** hold registers a granted lease for renewal; without a known base it is confirmed by a renewal first. */
  private async hold(
    view: LeaseView,
    raftTerm: bigint,
    releaseOnResetMs: number,
    confirmedAtMs: number | undefined,
  ): Promise<Lease> {
    const lease = await this.holdConfirmed(view, raftTerm, releaseOnResetMs, confirmedAtMs);
    if (lease === null) {
      throw new OmniRelayError(
        'LEASE_LOST',
        `the lease on ${view.scope} (fence ${view.fence}) could not be confirmed alive; acquire again`,
      );
    }
    return lease;
  }

  /**
   * holdConfirmed makes the Lease and starts renewing it. When the base is unknown or too old to
   * leave half a TTL, it renews once before handing the lease out; null means the cluster refused
   * that renewal (the lease is gone).
   */
  private async holdConfirmed(
    view: LeaseView,
    raftTerm: bigint,
    releaseOnResetMs: number,
    confirmedAtMs: number | undefined,
  ): Promise<Lease | null> {
    this.assertOpen();
    const held = this.leases.get(leaseKey(view.scope, view.fence));
    if (held !== undefined) return held;
    // The cluster's lease time may run up to driftPpm fast (StampClock): over a TTL that eats into
    // the lease as much as a skew does.
    const ttlMarginMs = this.skewMs + Math.ceil((view.ttlMs * this.driftPpm) / 1_000_000);
    const margin = (view.ttlMs - ttlMarginMs) / 2;
    const stale =
      confirmedAtMs === undefined || confirmedAtMs + view.ttlMs - ttlMarginMs - performance.now() < margin;
    const lease = new Lease(
      view,
      {
        raftTerm,
        releaseOnResetMs,
        confirmedAtMs: stale ? undefined : confirmedAtMs,
        skewMs: this.skewMs,
        ttlMarginMs,
      },
      this.hooks,
    );
    this.leases.set(lease.key, lease);
    this.keepAlive.add(lease);
    // The leader learns releaseOnResetMs from KeepAlive: tell it now, not a third of a TTL later.
    if (!stale && releaseOnResetMs > 0)
      this.keepAlive.renew(lease, this.callTimeoutMs).catch(() => undefined);
    if (!stale) return lease;
    try {
      await this.keepAlive.renew(lease, this.callTimeoutMs);
      return lease;
    } catch (e) {
      if (lease.endedReason === 'refused' || lease.endedReason === 'failover') return null;
      lease.end('unconfirmed', 'its first renewal could not be confirmed');
      throw e;
    }
  }

  /** campaignOnce runs one Campaign call until elected; it rejects with the call's error. */
  private campaignOnce(
    address: string,
    request: object,
    options: CampaignOptions,
  ): Promise<{ lease: WireLease; raftTerm?: string; alreadyHolder?: boolean; queuedFirst: boolean }> {
    const client = this.router.stub(address, 'Leadership') as unknown as {
      Campaign(request: object, metadata: grpc.Metadata): grpc.ClientReadableStream<CampaignMessage>;
    };
    return new Promise((resolve, reject) => {
      const call = client.Campaign(request, this.router.metadata());
      let queuedFirst = false;
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        stopListening();
        f();
      };
      // A frozen node would hold the campaign: campaign elsewhere. The retry is in the same
      // session, so the cluster hands back this candidate's queue place or lease (one outcome),
      // whichever the abandoned campaign got.
      const stopListening = this.router.whileStream(address, () => {
        call.cancel();
        settle(() =>
          reject(new OmniRelayError('UNAVAILABLE', `${address} stopped answering during the campaign`)),
        );
      });
      const onAbort = (): void => {
        // Cancelling the call withdraws the candidate on the cluster, unless a newer campaign of this
        // session (a retry elsewhere) waits for the same place: the leader keeps it for that one.
        call.cancel();
        settle(() => reject(abortError('the campaign')));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      call.on('data', (m: CampaignMessage) => {
        if (m.queued !== undefined && m.queued !== null) {
          queuedFirst = true;
          options.onQueued?.({ position: m.queued.position, holder: optionalLeaseView(m.queued.holder) });
        } else if (m.elected?.lease !== undefined && m.elected.lease !== null) {
          const { lease, raftTerm, alreadyHolder } = m.elected;
          settle(() =>
            resolve({
              lease,
              queuedFirst,
              ...(raftTerm === undefined ? {} : { raftTerm }),
              ...(alreadyHolder === undefined ? {} : { alreadyHolder }),
            }),
          );
        }
      });
      call.on('error', (e: unknown) => settle(() => reject(fromGrpcError(e, address))));
      call.on('end', () =>
        settle(() =>
          reject(new OmniRelayError('UNAVAILABLE', `${address} ended the campaign without an election`)),
        ),
      );
    });
  }

  /**
   * resignLease resigns by fence: true when the cluster removed the holder; false when it
   * answered that the lease was already gone (a repeat counts as done).
   */
  private async resignLease(lease: Lease): Promise<boolean> {
    try {
      await this.router.call(
        'Leadership',
        'Resign',
        { scope: lease.scope, fenceToken: lease.fence.toString() },
        { leader: true, retry: RESIGN_RETRY, retryUnanswered: true },
      );
      return true;
    } catch (e) {
      if (isOmniRelayError(e, 'STALE_FENCE') || isOmniRelayError(e, 'NOT_HOLDER')) return false;
      throw e;
    }
  }

  private leaseEnded(lease: Lease, reason: LeaseEndReason, error: OmniRelayError): void {
    if (this.leases.get(lease.key) === lease) this.leases.delete(lease.key);
    this.keepAlive.remove(lease, error);
    // A lease that could not be confirmed may still be held on the cluster: give it up, so a
    // waiting candidate need not wait for the TTL (best effort; it fails harmlessly if gone).
    // A few at a time (BestEffortQueue): a blip may leave thousands unconfirmed together.
    if (reason === 'unconfirmed' && !this.closed) this.unconfirmedResigns.push(() => this.resignLease(lease));
  }
}

/** CampaignMessage is a CampaignResponse. */
interface CampaignMessage {
  readonly queued?: { position: number; alreadyWaiting: boolean; holder: WireLease | null } | null;
  readonly elected?: { lease: WireLease | null; raftTerm?: string; alreadyHolder?: boolean } | null;
}

/** clientEndpoints checks that exactly one of endpoints and clusters is given and returns where the router starts. */
function clientEndpoints(options: ClientOptions): readonly string[] {
  if ((options.endpoints === undefined) === (options.clusters === undefined)) {
    throw new OmniRelayError(
      'INVALID_ARGUMENT',
      'createClient needs either endpoints (one cluster) or clusters (an active/passive group), not both',
    );
  }
  if (options.clusters === undefined) return options.endpoints ?? [];
  checkClusters(options.clusters);
  // Until the first probe says which cluster is active, calls go to the first one listed.
  return options.clusters[0]!.endpoints;
}

/** createClient makes a client of the cluster at `endpoints`, or of the active one of `clusters`; see ClientOptions. */
export function createClient(options: ClientOptions): OmniRelayClient {
  return new OmniRelayClient(options);
}

function nodeStatus(address: string, r: unknown): NodeStatus {
  const s = r as {
    nodeId: string;
    role: string;
    term: string;
    leader: string;
    commit: string;
    applied: string;
    members: { id: string; voter: boolean }[];
  };
  return {
    address,
    nodeId: s.nodeId,
    role: s.role,
    term: big(s.term),
    leader: s.leader,
    commit: big(s.commit),
    applied: big(s.applied),
    members: s.members.map((m) => ({ id: m.id, voter: m.voter })),
  };
}

function membersOf(r: unknown): Members {
  const m = r as {
    nodeId: string;
    leader: string;
    members: {
      id: string;
      voter: boolean;
      self: boolean;
      peerAddress: string;
      connected: boolean;
      match: string;
      lagEntries: string;
    }[];
  };
  return {
    nodeId: m.nodeId,
    leader: m.leader,
    members: m.members.map((x) => ({
      id: x.id,
      voter: x.voter,
      self: x.self,
      peerAddress: x.peerAddress,
      connected: x.connected,
      match: Number(x.match),
      lagEntries: Number(x.lagEntries),
    })),
  };
}

/** readSpec routes a read: linearizable ones to the leader, serializable ones anywhere; any may go again. */
function readSpec(options: ReadOptions): CallSpec {
  return {
    leader: options.serializable !== true,
    retryUnanswered: true,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}

/**
 * checkAttemptTimeout returns the attemptTimeoutMs option: a positive number up to callTimeoutMs
 * (INVALID_ARGUMENT otherwise); unset, the default capped at callTimeoutMs.
 */
function checkAttemptTimeout(value: number | undefined, callTimeoutMs: number): number {
  if (value === undefined) return Math.min(DEFAULTS.attemptTimeoutMs, callTimeoutMs);
  positive(value, 'attemptTimeoutMs');
  if (value > callTimeoutMs) {
    throw new OmniRelayError(
      'INVALID_ARGUMENT',
      `attemptTimeoutMs (${value}) must not exceed callTimeoutMs (${callTimeoutMs}): an attempt is part of a call`,
    );
  }
  return value;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new OmniRelayError('INVALID_ARGUMENT', `${name} must be a positive number (got ${value})`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new OmniRelayError('INVALID_ARGUMENT', `${name} must be zero or more (got ${value})`);
  }
  return value;
}
