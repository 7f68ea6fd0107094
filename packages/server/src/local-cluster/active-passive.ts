import type { LocalCluster } from './local-cluster';

/**
 * CALM_ELECTION_FLAGS are election flags for two 3-node clusters running at once on a shared
 * machine (the cross-cluster tests and the crosscluster bench): generous timeouts, so neither
 * cluster churns while the other starts.
 */
export const CALM_ELECTION_FLAGS: readonly string[] = [
  '--election-timeout-ms',
  '3000',
  '--heartbeat-ms',
  '300',
  '--stall-threshold-ms',
  '10000',
];

/** CALM_LEADER_WAIT_MS bounds the wait for a leader when six processes start at once. */
export const CALM_LEADER_WAIT_MS = 45_000;

/** STREAMING_POLL_MS is how often followActive reads the passive leader's replication status. */
const STREAMING_POLL_MS = 50;

/** ClusterRole names one LocalCluster of an active/passive pair by its cross-cluster id. */
export interface ClusterRole {
  readonly id: string;
  readonly cluster: LocalCluster;
}

/** grpcEndpoints are a cluster's public gRPC addresses, what descriptors and SDK clients name. */
export function grpcEndpoints(cluster: LocalCluster): string[] {
  return cluster.nodes.map((n) => n.grpcAddress);
}

async function setDescriptor(on: LocalCluster, leader: string, body: Record<string, unknown>): Promise<void> {
  const res = await on.post(leader, '/control/clusters', body);
  if (res.status !== 200) {
    throw new Error(
      `POST /control/clusters ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(res.body)}`,
    );
  }
}

/**
 * followActive makes `active` the active cluster and `passive` a passive one that follows it
 * (docs/cross-cluster.md): each gets its local descriptor with its gRPC endpoints, `passive`
 * records `active` as its active peer, and followActive resolves once the passive Raft leader's
 * replicator is streaming from the active one. It throws naming the step that failed, or after
 * `waitMs` without streaming. Returns each cluster's leader.
 */
export async function followActive(
  active: ClusterRole,
  passive: ClusterRole,
  waitMs = CALM_LEADER_WAIT_MS,
): Promise<{ readonly activeLeader: string; readonly passiveLeader: string }> {
  const activeLeader = await active.cluster.waitForLeader(waitMs);
  const passiveLeader = await passive.cluster.waitForLeader(waitMs);
  await setDescriptor(active.cluster, activeLeader, {
    clusterId: active.id,
    state: 'active',
    endpoints: grpcEndpoints(active.cluster),
    reason: 'active of the pair',
  });
  await setDescriptor(passive.cluster, passiveLeader, {
    clusterId: passive.id,
    state: 'passive',
    endpoints: grpcEndpoints(passive.cluster),
    reason: `standby of ${active.id}`,
  });
  await setDescriptor(passive.cluster, passiveLeader, {
    local: false,
    clusterId: active.id,
    state: 'active',
    endpoints: grpcEndpoints(active.cluster),
    reason: 'the active peer',
  });
  const deadline = Date.now() + waitMs;
  for (let i = 0; Date.now() < deadline && i < waitMs / STREAMING_POLL_MS; i++) {
    const reply = await passive.cluster.get(passiveLeader, '/control/clusters').catch(() => undefined);
    const status = (reply?.body as { replication?: { status?: string } } | undefined)?.replication?.status;
    if (status === 'streaming') return { activeLeader, passiveLeader };
    await new Promise((r) => setTimeout(r, STREAMING_POLL_MS));
  }
  throw new Error(`${passive.id} is not streaming from ${active.id} after ${waitMs} ms`);
}
