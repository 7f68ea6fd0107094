import type { ClusterDescriptor } from '@omnirelay/leadership-fsm';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { LeadershipService } from '../leadership/leadership-service';
import type { LeadershipStateMachine } from '../leadership/leadership-state-machine';
import { INTERNAL_TRANSPORT, withTransport } from '../leadership/request-origin';
import type { ReplicationCredentialFiles } from './replication-credentials';
import { callClusters } from './clusters-call';

/** PeerWatchOptions are the timings of the peer-descriptor checks. */
export interface PeerWatchOptions {
  /** pollMs is the pause between two checks of a peer that answered. */
  readonly pollMs: number;
  /** backoffMsMax caps the pause after failed checks of a peer (it doubles from pollMs up to it). */
  readonly backoffMsMax: number;
  /** callTimeoutMs bounds one Clusters call to one endpoint of a peer. */
  readonly callTimeoutMs: number;
  /** credentials are what the calls present (those of the replication channel). */
  readonly credentials?: ReplicationCredentialFiles;
}

/** PEER_WATCH_DEFAULTS are the timings unless a test or a setting changes them. */
export const PEER_WATCH_DEFAULTS: PeerWatchOptions = {
  pollMs: 2_000,
  backoffMsMax: 30_000,
  callTimeoutMs: 2_000,
};

/** REASON_CHARS_MAX cuts the reason of an adopted descriptor (≤ 3 UTF-8 bytes a code unit, so within the FSM's 512 bytes). */
const REASON_CHARS_MAX = 160;

/** WireDescriptor is the part of a ClustersResponse descriptor (proto-loader object form) read here. */
interface WireDescriptor {
  readonly clusterId: string;
  readonly region: string;
  readonly priority: number;
  readonly state: string;
  readonly failoverEpoch: number;
  readonly endpoints: readonly string[];
  readonly reason: string;
  readonly local: boolean;
}

/** WireClusters is the part of a ClustersResponse read here. */
interface WireClusters {
  readonly clusterId: string;
  readonly state: string;
  readonly failoverEpoch: number;
  readonly clusters: readonly WireDescriptor[];
}

/**
 * PeerWatch lets a cluster find out by itself that a peer was promoted above it (an old active
 * that was unreachable during an emergency failover and comes back): on the Raft leader, it
 * asks each known peer for its own descriptor (gRPC Clusters at the peer's endpoints, tried in
 * turn, each call bounded by callTimeoutMs; a peer that does not answer is asked again after a
 * pause that doubles up to backoffMsMax). When a peer says it is active at a failover epoch above
 * the one this cluster knows for it, PeerWatch replicates that descriptor as a peer descriptor
 * (setCluster, local: false) through this cluster's own log. Everything else is left to the
 * operator: an active cluster that learns of an active peer at a higher epoch is superseded (it
 * ends its leases and grants nothing, naming the peer) until `omnirelay mesh clusters failback`.
 * It never lowers an epoch (apply refuses it) and never throws.
 */
export class PeerWatch {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** nextCheckMs and pauseMs are each peer's next check (Date.now()) and current pause. */
  private readonly nextCheckMs = new Map<string, number>();
  private readonly pauseMs = new Map<string, number>();

  constructor(
    private readonly service: LeadershipService,
    private readonly stateMachine: LeadershipStateMachine,
    private readonly isLeader: () => boolean,
    private readonly logger: Logger,
    private readonly options: PeerWatchOptions = PEER_WATCH_DEFAULTS,
  ) {}

  /** start checks the peers every pollMs (only while this node leads), until stop. */
  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    const tick = (): void => {
      void this.checkDue(Date.now()).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.options.pollMs);
      });
    };
    this.timer = setTimeout(tick, this.options.pollMs);
  }

  /** stop ends the checks for good (server shutdown). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** checkDue checks every peer whose pause has passed at `nowMs`, one after the other. */
  async checkDue(nowMs: number): Promise<void> {
    if (!this.isLeader()) return;
    const view = this.stateMachine.fsm.cluster();
    if (view.local === null) return;
    for (const peer of view.peers) {
      if (this.stopped || !this.isLeader()) return;
      if (peer.endpoints.length === 0 || (this.nextCheckMs.get(peer.clusterId) ?? 0) > nowMs) continue;
      const answered = await this.check(peer);
      const pause = answered
        ? this.options.pollMs
        : Math.min(
            this.options.backoffMsMax,
            2 * (this.pauseMs.get(peer.clusterId) ?? this.options.pollMs / 2),
          );
      this.pauseMs.set(peer.clusterId, pause);
      this.nextCheckMs.set(peer.clusterId, Date.now() + pause);
    }
  }

  /** check asks one peer for its own descriptor and adopts a promotion above what is known; it tells whether the peer answered. */
  private async check(peer: ClusterDescriptor): Promise<boolean> {
    let answer: WireClusters | undefined;
    for (const endpoint of peer.endpoints) {
      try {
        answer = await this.clustersAt(endpoint);
        break;
      } catch (e) {
        this.logger.debug(
          { peer: peer.clusterId, endpoint, err: e instanceof Error ? e.message : String(e) },
          'cross-cluster: a peer cluster did not answer for its descriptor',
        );
      }
    }
    if (answer === undefined) return false;
    const own = answer.clusters.find((c) => c.local);
    if (answer.clusterId !== peer.clusterId || own === undefined) {
      this.logger.warn(
        { peer: peer.clusterId, answeredAs: answer.clusterId },
        "cross-cluster: a peer's endpoints answer as another cluster (or one without a descriptor); fix the peer descriptor's endpoints",
      );
      return true;
    }
    const local = this.stateMachine.fsm.cluster();
    const known = local.peers.find((p) => p.clusterId === peer.clusterId);
    if (own.state !== 'active' || own.failoverEpoch <= (known?.failoverEpoch ?? 0)) return true;
    const correlationId = `peer-epoch-${randomUUID()}`;
    const superseded = local.state === 'active' && own.failoverEpoch > local.failoverEpoch;
    this.logger.warn(
      {
        peer: peer.clusterId,
        peerEpoch: own.failoverEpoch,
        failoverEpoch: local.failoverEpoch,
        correlationId,
      },
      superseded
        ? `cross-cluster: peer ${peer.clusterId} is active at failover epoch ${own.failoverEpoch}, above this cluster's ${local.failoverEpoch}: this cluster was demoted and grants nothing until an operator fails back ('omnirelay mesh clusters failback')`
        : `cross-cluster: peer ${peer.clusterId} is active at failover epoch ${own.failoverEpoch}; recording its descriptor`,
    );
    try {
      await withTransport(INTERNAL_TRANSPORT, () =>
        this.service.propose({
          type: 'setCluster',
          correlationId,
          local: false,
          clusterId: peer.clusterId,
          region: own.region,
          priority: own.priority,
          state: 'active',
          failoverEpoch: own.failoverEpoch,
          endpoints: own.endpoints.length > 0 ? [...own.endpoints] : [...peer.endpoints],
          reason:
            `learned from ${peer.clusterId}'s own descriptor: active at failover epoch ${own.failoverEpoch} (${own.reason})`.slice(
              0,
              REASON_CHARS_MAX,
            ),
        }),
      );
    } catch (e) {
      this.logger.warn(
        { peer: peer.clusterId, err: e instanceof Error ? e.message : String(e), correlationId },
        "cross-cluster: recording a peer's promotion failed; retrying at the next check",
      );
    }
    return true;
  }

  /** clustersAt calls Clusters at one endpoint, bounded by callTimeoutMs. */
  private async clustersAt(endpoint: string): Promise<WireClusters> {
    return callClusters<WireClusters>(endpoint, this.options.credentials, this.options.callTimeoutMs);
  }
}
