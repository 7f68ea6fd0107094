/**
 * ClusterDescriptorView is one cluster of an active/passive group as the answering cluster knows
 * it (docs/cross-cluster.md): its id, region, priority, state, failover epoch (the high 16 bits
 * of every fence it grants), replication endpoints, who changed it last and why.
 */
export interface ClusterDescriptorView {
  readonly clusterId: string;
  readonly region: string;
  readonly priority: number;
  readonly state: string;
  readonly failoverEpoch: number;
  readonly endpoints: readonly string[];
  readonly changedBy: string;
  readonly reason: string;
  readonly changedRevision: number;
  /** local is true for the answering cluster's own descriptor. */
  readonly local: boolean;
}

/**
 * FailoverRecordView is one record of a cluster's failover history (docs/cross-cluster.md): the
 * entry that recorded it (`revision`, the order), its stamp, the workflow's correlation id, the
 * actor (principal), the cluster, the step (`descriptor` for a descriptor change the cluster
 * applied), what it did and why.
 */
export interface FailoverRecordView {
  readonly revision: number;
  readonly stampMs: number;
  readonly correlationId: string;
  readonly actor: string;
  readonly clusterId: string;
  readonly step: string;
  readonly detail: string;
  readonly reason: string;
}

/** FailoverStepOptions is one step of a failover workflow to record (see FailoverRecordView). */
export interface FailoverStepOptions {
  readonly step: string;
  readonly detail?: string;
  readonly reason?: string;
  readonly correlationId: string;
}

/**
 * ClustersView is what Cluster.Clusters answers: the answering cluster's id ('' without a
 * descriptor), state and failover epoch, the peer it follows, every descriptor it knows, and its
 * mirror's replication (status, lag, version vector: cluster id → revision), and its failover
 * history (the last 256 records, oldest first).
 */
export interface ClustersView {
  readonly clusterId: string;
  readonly state: string;
  readonly failoverEpoch: number;
  /** lastEventRevision is the revision of the cluster's last holder change (what a mirror must reach). */
  readonly lastEventRevision: number;
  readonly following: string;
  readonly clusters: readonly ClusterDescriptorView[];
  readonly replication: {
    readonly status: string;
    readonly lagSeconds: number;
    readonly sourceClusterId: string;
    readonly versionVector: Readonly<Record<string, number>>;
    readonly mirroredScopes: number;
  };
  readonly history: readonly FailoverRecordView[];
}

/**
 * SetClusterOptions is a descriptor change (docs/cross-cluster.md): this cluster's own unless
 * `peer`. The cluster refuses a lower failover epoch, and a promotion to active that does not
 * raise it above every epoch it knows of, with EPOCH_REGRESSION.
 */
export interface SetClusterOptions {
  readonly clusterId: string;
  readonly state: 'active' | 'passive' | 'draining';
  readonly failoverEpoch?: number;
  readonly peer?: boolean;
  readonly region?: string;
  readonly priority?: number;
  readonly endpoints?: readonly string[];
  readonly reason?: string;
  /** correlationId ties the change to a workflow in the servers' logs (default: generated). */
  readonly correlationId?: string;
}

type Wire = Record<string, unknown>;

const text = (o: Wire, name: string): string => (typeof o[name] === 'string' ? o[name] : '');
const count = (o: Wire, name: string): number => Number(o[name] ?? 0);

/** clustersView converts a ClustersResponse (proto-loader's object form) into a ClustersView. */
export function clustersView(wire: Wire): ClustersView {
  const replication = (wire['replication'] ?? {}) as Wire;
  const vector = (replication['versionVector'] ?? {}) as Record<string, string>;
  return {
    clusterId: text(wire, 'clusterId'),
    state: text(wire, 'state'),
    failoverEpoch: count(wire, 'failoverEpoch'),
    lastEventRevision: count(wire, 'lastEventRevision'),
    following: text(wire, 'following'),
    clusters: ((wire['clusters'] ?? []) as Wire[]).map((d) => ({
      clusterId: text(d, 'clusterId'),
      region: text(d, 'region'),
      priority: count(d, 'priority'),
      state: text(d, 'state'),
      failoverEpoch: count(d, 'failoverEpoch'),
      endpoints: (d['endpoints'] ?? []) as string[],
      changedBy: text(d, 'changedBy'),
      reason: text(d, 'reason'),
      changedRevision: count(d, 'changedRevision'),
      local: d['local'] === true,
    })),
    replication: {
      status: text(replication, 'status'),
      lagSeconds: count(replication, 'lagSeconds'),
      sourceClusterId: text(replication, 'sourceClusterId'),
      versionVector: Object.fromEntries(Object.entries(vector).map(([id, r]) => [id, Number(r)])),
      mirroredScopes: count(replication, 'mirroredScopes'),
    },
    history: ((wire['history'] ?? []) as Wire[]).map(failoverRecordView),
  };
}

/** failoverRecordView converts a FailoverRecord (proto-loader's object form) into a FailoverRecordView. */
export function failoverRecordView(r: Wire): FailoverRecordView {
  return {
    revision: count(r, 'revision'),
    stampMs: count(r, 'stampMs'),
    correlationId: text(r, 'correlationId'),
    actor: text(r, 'actor'),
    clusterId: text(r, 'clusterId'),
    step: text(r, 'step'),
    detail: text(r, 'detail'),
    reason: text(r, 'reason'),
  };
}
