import type { LocalCluster } from '@omnirelay/server';
import { useLocalCluster as useServerLocalCluster } from '../../../server/test/cluster/cluster-helpers';

/**
 * useLocalCluster gives a describe block a 3-node cluster of real server processes on free
 * loopback ports, with a leader before its tests: the server tests' useLocalCluster (every process
 * stopped by PID, the data folder removed after the block). The getter is valid inside the tests.
 */
export function useLocalCluster(name: string): () => LocalCluster {
  return useServerLocalCluster(`cli-${name}`, { size: 3, leaderWithinMs: 30_000, hookTimeoutMs: 60_000 });
}
