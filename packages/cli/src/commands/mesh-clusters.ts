import type { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { clustersJson, clustersTable } from '../format/clusters';
import type { Bind } from './action';

/**
 * registerMeshClusters adds `omnirelay mesh clusters list`: the cluster descriptors the cluster
 * knows (its own and its peers'), its state and failover epoch, and its passive mirror's
 * replication status, lag and version vector (docs/cross-cluster.md).
 */
export function registerMeshClusters(program: Command, bind: Bind): void {
  const mesh = program.commands.find((c) => c.name() === 'mesh') ?? program.command('mesh');
  const clusters = mesh.command('clusters').description('the active/passive clusters of the mesh');
  bind(
    clusters
      .command('list')
      .description('list the cluster descriptors, the failover epoch and the replication of the mirror'),
    async (ctx) =>
      ctx.withClient(async (client) => {
        const view = await client.clusters();
        ctx.io.stdout(ctx.output === 'json' ? clustersJson(view) : clustersTable(view));
        return EXIT.OK;
      }),
  );
}
