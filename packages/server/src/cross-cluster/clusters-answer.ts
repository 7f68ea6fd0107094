import type {
  ClusterDescriptor,
  ClusterView,
  ClusterVersionVector,
  FailoverRecord,
} from '@omnirelay/leadership-fsm';
import type { ReplicationStatus } from './replicator';

/** ReplicationView is what a node's replicator reports: its status and lag (see Replicator). */
export interface ReplicationView {
  readonly status: ReplicationStatus;
  readonly lagSeconds: number;
}

/** DescriptorAnswer is a cluster descriptor as the edges answer it, marked local or peer. */
export type DescriptorAnswer = ClusterDescriptor & { readonly local: boolean };

/**
 * ClustersAnswer is the body of GET /control/clusters and of the gRPC Cluster.Clusters answer:
 * this cluster's id, effective state and failover epoch (active and 0 without a descriptor), every
 * descriptor it knows (its own first), the peer it follows, and the replication of its mirror:
 * this node's replicator status and lag, the source, the version vector, the mirrored scope count;
 * and the failover history (oldest first).
 */
export interface ClustersAnswer {
  readonly clusterId: string;
  readonly state: ClusterView['state'];
  readonly failoverEpoch: number;
  /** lastEventRevision is the revision of this cluster's last holder change: what a mirror must reach. */
  readonly lastEventRevision: number;
  readonly following: string;
  readonly clusters: readonly DescriptorAnswer[];
  readonly replication: ReplicationView & {
    readonly sourceClusterId: string;
    readonly versionVector: ClusterVersionVector;
    readonly mirroredScopes: number;
    readonly sourceStampMs: number;
  };
  readonly history: readonly FailoverRecord[];
}

/** clustersAnswer builds the ClustersAnswer of `view` and this node's replicator. */
export function clustersAnswer(view: ClusterView, replication: ReplicationView): ClustersAnswer {
  return {
    clusterId: view.local?.clusterId ?? '',
    state: view.state,
    failoverEpoch: view.failoverEpoch,
    lastEventRevision: view.lastEventRevision,
    following: view.following,
    clusters: [
      ...(view.local === null ? [] : [{ ...view.local, local: true }]),
      ...view.peers.map((peer) => ({ ...peer, local: false })),
    ],
    replication: {
      status: replication.status,
      lagSeconds: replication.lagSeconds,
      sourceClusterId: view.mirror.sourceClusterId,
      versionVector: view.mirror.versionVector,
      mirroredScopes: view.mirror.scopeCount,
      sourceStampMs: view.mirror.sourceStampMs,
    },
    history: view.history,
  };
}

/** IDLE_REPLICATION is what a node without a replicator reports. */
export const IDLE_REPLICATION: ReplicationView = { status: 'idle', lagSeconds: 0 };

/**
 * clustersToWire is a ClustersAnswer as a gRPC ClustersResponse (proto-loader's object form:
 * 64-bit numbers as decimal strings).
 */
export function clustersToWire(answer: ClustersAnswer): object {
  return {
    ...answer,
    lastEventRevision: String(answer.lastEventRevision),
    clusters: answer.clusters.map((d) => ({
      ...d,
      changedRevision: String(d.changedRevision),
      changedStampMs: String(d.changedStampMs),
    })),
    replication: {
      ...answer.replication,
      versionVector: Object.fromEntries(
        Object.entries(answer.replication.versionVector).map(([id, revision]) => [id, String(revision)]),
      ),
      mirroredScopes: String(answer.replication.mirroredScopes),
      sourceStampMs: String(answer.replication.sourceStampMs),
    },
    history: answer.history.map(failoverRecordToWire),
  };
}

/** failoverRecordToWire is a FailoverRecord as a gRPC FailoverRecord (64-bit numbers as decimal strings). */
export function failoverRecordToWire(record: FailoverRecord): object {
  return { ...record, revision: String(record.revision), stampMs: String(record.stampMs) };
}
