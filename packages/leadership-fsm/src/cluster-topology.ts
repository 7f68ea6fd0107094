import type { FailoverRecord } from './cluster-history';

/**
 * ClusterState is what a cluster does with leadership: an `active` cluster grants; a `passive`
 * one grants nothing and mirrors the active one; a `draining` one grants nothing new while its
 * holders finish (the first step of a planned failover).
 */
export type ClusterState = 'active' | 'passive' | 'draining';

/** CLUSTER_STATES lists every ClusterState, in a fixed order. */
export const CLUSTER_STATES: readonly ClusterState[] = ['active', 'passive', 'draining'];

/**
 * ClusterDescriptor is what the state machine knows of one cluster of an active/passive pair
 * (or group): its identity and place, its state, its failover epoch (the high bits of every
 * fence it grants; it only rises), where its public gRPC API is (the endpoints other clusters
 * replicate from), and who changed it last, why, and at which revision and stamp.
 */
export interface ClusterDescriptor {
  readonly clusterId: string;
  readonly region: string;
  /** priority orders candidates for promotion (higher first); the state machine only keeps it. */
  readonly priority: number;
  readonly state: ClusterState;
  readonly failoverEpoch: number;
  readonly endpoints: readonly string[];
  /** changedBy is the principal of the request that set this descriptor ('' when none). */
  readonly changedBy: string;
  readonly reason: string;
  /** changedRevision is the index of the entry that set this descriptor. */
  readonly changedRevision: number;
  readonly changedStampMs: number;
}

/**
 * MirroredScope is one scope of the active cluster as the passive mirror knows it: the holder at
 * the source revision of its last change (null: vacant), and the highest fence the source granted
 * in it. `revision` is the *source* cluster's revision, never an index of this cluster's log.
 */
export interface MirroredScope {
  readonly scope: string;
  readonly revision: number;
  readonly lastFenceToken: bigint;
  readonly holder: MirroredHolder | null;
  /**
   * steppedDownHolder is the holder whose lease the source ended by a step-down with no successor
   * in the scope's last change (a drain ends every lease so), or null. Such a holder learns it only
   * at its next renewal, so a promotion keeps the scope held for it (see applySetCluster) just as
   * for a current holder.
   */
  readonly steppedDownHolder: MirroredHolder | null;
}

/** MirroredHolder is the part of a source lease the mirror keeps (renewals are not replicated). */
export interface MirroredHolder {
  readonly candidateId: string;
  readonly metadata: string;
  readonly fenceToken: bigint;
  readonly scopeTerm: number;
  readonly leaseTtlMs: number;
  readonly grantedStampMs: number;
}

/**
 * ClusterTopology is the cross-cluster part of the state: this cluster's own descriptor (null:
 * never set, which behaves exactly as an active cluster in epoch 0), the peers' descriptors, and
 * the read-only mirror of the cluster this one follows. Everything in it is replicated through
 * this cluster's own log, so a new Raft leader keeps the mirror and its version vector.
 */
export class ClusterTopology {
  local: ClusterDescriptor | null = null;
  readonly peers = new Map<string, ClusterDescriptor>();
  /** mirrorSourceId is the cluster the mirror copies ('' while the mirror is empty and unused). */
  mirrorSourceId = '';
  /**
   * versionVector maps each source cluster id to the last source revision the mirror holds: every
   * change up to it is applied, none after it.
   */
  readonly versionVector = new Map<string, number>();
  readonly mirror = new Map<string, MirroredScope>();
  /** mirrorEpochMax is the highest failover epoch of any fence the mirror has seen. */
  mirrorEpochMax = 0;
  /** mirrorStampMs is the source stamp of the newest change the mirror holds (the source's clock). */
  mirrorStampMs = 0;
  /** history holds the last FAILOVER_HISTORY_MAX failover records, oldest first (see recordFailover). */
  readonly history: FailoverRecord[] = [];

  /** state is this cluster's state: `active` until a descriptor says otherwise. */
  get state(): ClusterState {
    return this.local?.state ?? 'active';
  }

  /** epoch is this cluster's failover epoch: 0 until a descriptor raises it. */
  get epoch(): number {
    return this.local?.failoverEpoch ?? 0;
  }

  /** isUnused tells whether nothing cross-cluster was ever set (snapshots then keep format 2). */
  get isUnused(): boolean {
    return (
      this.local === null && this.peers.size === 0 && this.mirrorSourceId === '' && this.history.length === 0
    );
  }

  /** activePeer is the active peer with the highest epoch (the one to follow and to name), if any. */
  activePeer(): ClusterDescriptor | undefined {
    let best: ClusterDescriptor | undefined;
    for (const peer of this.peers.values()) {
      if (peer.state === 'active' && (best === undefined || peer.failoverEpoch > best.failoverEpoch)) {
        best = peer;
      }
    }
    return best;
  }

  /** sortedPeers returns the peers' descriptors in cluster-id order. */
  sortedPeers(): ClusterDescriptor[] {
    return Array.from(this.peers.values()).sort((a, b) => (a.clusterId < b.clusterId ? -1 : 1));
  }

  /** sortedMirror returns the mirrored scopes in scope-name order. */
  sortedMirror(): MirroredScope[] {
    return Array.from(this.mirror.values()).sort((a, b) =>
      a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0,
    );
  }

  /**
   * epochFloor is the highest epoch this cluster knows of elsewhere (peers' descriptors and the
   * mirror's fences): a promotion must go above it.
   */
  epochFloor(): number {
    let floor = this.mirrorEpochMax;
    for (const peer of this.peers.values()) floor = Math.max(floor, peer.failoverEpoch);
    return floor;
  }
}
