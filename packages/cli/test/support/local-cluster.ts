import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '@omnirelay/server';
import { discardCluster } from '../../../server/test/cluster/cluster-helpers';

/**
 * useLocalCluster gives a describe block a 3-node cluster of real server processes on free
 * loopback ports (basePort 0): started before its tests, every process stopped by PID
 * (discardCluster: SIGKILL, the data is thrown away) and the data folder removed after them. The
 * getter is valid inside the tests.
 */
export function useLocalCluster(name: string): () => LocalCluster {
  // Made in beforeAll, as the server's useLocalCluster does: a `jest -t` run that filters out the
  // whole block runs neither hook.
  let dataRoot: string | undefined;
  let cluster: LocalCluster | undefined;
  beforeAll(async () => {
    dataRoot = mkdtempSync(join(tmpdir(), `omnirelay-cli-${name}-`));
    cluster = await LocalCluster.create({ size: 3, dataRoot, basePort: 0, logLevel: 'info' });
    cluster.startAll();
    await cluster.waitForLeader(30_000);
  }, 60_000);
  afterAll(async () => {
    if (cluster !== undefined) await discardCluster(cluster);
    if (dataRoot !== undefined) rmSync(dataRoot, { recursive: true, force: true });
  }, 30_000);
  return () => {
    if (cluster === undefined) throw new Error('the local cluster is used outside its tests');
    return cluster;
  };
}
