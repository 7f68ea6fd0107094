import type { FailoverRecord } from './cluster-history';
import type { ClusterDescriptor, ClusterState, ClusterTopology, MirroredScope } from './cluster-topology';
import { LeadershipError } from './errors';
import { LIST_PAGE_SIZE_DEFAULT, LIST_PAGE_SIZE_MAX } from './limits';

/**
 * ClusterVersionVector maps a cluster id to the revision of that cluster's log that what is
 * served reflects: every change up to it, none after.
 */
export type ClusterVersionVector = Readonly<Record<string, number>>;

/**
 * ClusterView is what `/control/clusters` shows of the state machine: this cluster's descriptor
 * (null when never set), its effective state and epoch, the peers, the active peer it follows
 * (if any), the mirror's source, version vector, size and newest source stamp, and the failover
 * history (the last FAILOVER_HISTORY_MAX records, oldest first).
 */
export interface ClusterView {
  readonly local: ClusterDescriptor | null;
  readonly state: ClusterState;
  readonly failoverEpoch: number;
  /** lastEventRevision is the revision of this cluster's last holder change (0: none). */
  readonly lastEventRevision: number;
  readonly peers: readonly ClusterDescriptor[];
  /** following is the active peer a passive or draining cluster mirrors ('' when none). */
  readonly following: string;
  readonly mirror: {
    readonly sourceClusterId: string;
    readonly versionVector: ClusterVersionVector;
    readonly scopeCount: number;
    readonly sourceStampMs: number;
    readonly epochMax: number;
  };
  readonly history: readonly FailoverRecord[];
}

/** MirrorRequest pages the mirror: scopes under `prefix`, after `pageToken`, at most `limit`. */
export interface MirrorRequest {
  readonly prefix?: string;
  readonly pageToken?: string;
  readonly limit?: number;
}

/** MirrorPage is one page of the mirror with the version vector it is current to. */
export interface MirrorPage {
  readonly sourceClusterId: string;
  readonly versionVector: ClusterVersionVector;
  readonly scopes: readonly MirroredScope[];
  /** nextPageToken is the last scope of the page when more follow ('' otherwise). */
  readonly nextPageToken: string;
}

function vectorOf(topology: ClusterTopology): ClusterVersionVector {
  const vector: Record<string, number> = {};
  for (const id of Array.from(topology.versionVector.keys()).sort())
    vector[id] = topology.versionVector.get(id)!;
  return vector;
}

/** clusterView copies the cross-cluster state into a ClusterView. */
export function clusterView(topology: ClusterTopology, lastEventRevision: number): ClusterView {
  const state = topology.state;
  return {
    local: topology.local,
    state,
    failoverEpoch: topology.epoch,
    lastEventRevision,
    peers: topology.sortedPeers(),
    following: state === 'active' ? '' : (topology.activePeer()?.clusterId ?? ''),
    mirror: {
      sourceClusterId: topology.mirrorSourceId,
      versionVector: vectorOf(topology),
      scopeCount: topology.mirror.size,
      sourceStampMs: topology.mirrorStampMs,
      epochMax: topology.mirrorEpochMax,
    },
    history: [...topology.history],
  };
}

/** mirrorPage returns one page of the mirror (see MirrorRequest); INVALID_ARGUMENT for a bad limit. */
export function mirrorPage(topology: ClusterTopology, request: MirrorRequest): MirrorPage {
  const limit = request.limit ?? LIST_PAGE_SIZE_DEFAULT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIST_PAGE_SIZE_MAX) {
    throw new LeadershipError('INVALID_ARGUMENT', `limit is ${limit}; allowed: 1..${LIST_PAGE_SIZE_MAX}`, {
      field: 'limit',
      limit: LIST_PAGE_SIZE_MAX,
    });
  }
  const prefix = request.prefix ?? '';
  const after = request.pageToken ?? '';
  // The mirror is sorted per page (O(n log n)): it is an operator's view, not a hot path.
  const matching = topology.sortedMirror().filter((m) => m.scope.startsWith(prefix) && m.scope > after);
  const scopes = matching.slice(0, limit);
  return {
    sourceClusterId: topology.mirrorSourceId,
    versionVector: vectorOf(topology),
    scopes,
    nextPageToken: matching.length > limit ? scopes[scopes.length - 1]!.scope : '',
  };
}
