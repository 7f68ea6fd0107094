/**
 * ClusterPair: two fresh 3-node OmniRelay clusters on 127.0.0.1 (separate processes, separate
 * data folders, the calm election flags of the cross-cluster tests), A active and B passive
 * following A (followActive), every node registered with the bench's PID registry so that it is
 * killed by PID even when the bench fails.
 */
import { CALM_ELECTION_FLAGS, LocalCluster, followActive } from '@omnirelay/server';
import { makeScratchDir, trackPids } from '../compare/children';

/** ClusterPair is the running pair; stop() ends every process by PID and removes the data. */
export interface ClusterPair {
  readonly a: LocalCluster;
  readonly b: LocalCluster;
  /** bLeader is B's Raft leader, the node that runs B's replicator. */
  readonly bLeader: string;
  stop(): Promise<void>;
}

async function startCluster(
  name: string,
  clusterId: string,
): Promise<{ cluster: LocalCluster; stop(): Promise<void> }> {
  const scratch = makeScratchDir(`crosscluster-${name}-`);
  const dataRoot = scratch.path;
  const cluster = await LocalCluster.create({
    size: 3,
    dataRoot,
    basePort: 0,
    logLevel: 'warn',
    extraArgs: [...CALM_ELECTION_FLAGS, '--cluster-id', clusterId],
  });
  const untrack = trackPids(() =>
    cluster.nodes.flatMap((n) => (n.process?.pid !== undefined ? [n.process.pid] : [])),
  );
  cluster.startAll();
  return {
    cluster,
    stop: async () => {
      await cluster.stopAll();
      untrack();
      scratch.remove();
    },
  };
}

/** startPair starts A and B and makes B follow A; on a failure it stops whatever it started. */
export async function startPair(): Promise<ClusterPair> {
  const a = await startCluster('a', 'cluster-a');
  let b: Awaited<ReturnType<typeof startCluster>> | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([a.stop(), b?.stop()]);
  };
  try {
    b = await startCluster('b', 'cluster-b');
    const { passiveLeader } = await followActive(
      { id: 'a', cluster: a.cluster },
      { id: 'b', cluster: b.cluster },
    );
    return { a: a.cluster, b: b.cluster, bLeader: passiveLeader, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
