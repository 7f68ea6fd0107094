import type { SetClusterOptions } from '@omnirelay/client-sdk';
import type { Command } from 'commander';
import { usageError } from '../cli-error';
import { EXIT } from '../exit-codes';
import { clustersJson, clustersTable, historyTable } from '../format/clusters';
import type { JsonValue } from '../format/json';
import { jsonDocument } from '../format/json';
import { parseAddress, parseId, parsePositiveMs } from '../options';
import { failback, forcePromote } from './cluster-emergency';
import type { PromoteOptions } from './cluster-failover';
import { promote } from './cluster-failover';
import type { Bind } from './action';
import { collectList, listOption, stringOption } from './action';

/**
 * registerMeshClusters adds `omnirelay mesh clusters list`: the cluster descriptors the cluster
 * knows (its own and its peers'), its state and failover epoch, and its passive mirror's
 * replication status, lag and version vector (docs/cross-cluster.md); and `omnirelay mesh
 * clusters set`, which replicates a descriptor (this cluster's, or a peer's with --peer); `history`,
 * the cluster's failover history; `promote` and `failback`.
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
  bind(
    clusters
      .command('history')
      .description(
        "the cluster's failover history, oldest first: every descriptor change and every step of promote, promote --force and failback (the last 256)",
      )
      .option('--correlation-id <id>', 'only the records of this workflow'),
    async (ctx, options) =>
      ctx.withClient(async (client) => {
        const only = stringOption(options, 'correlationId');
        const history = (await client.clusters()).history.filter(
          (r) => only === undefined || r.correlationId === only,
        );
        ctx.io.stdout(
          ctx.output === 'json' ? jsonDocument(history as unknown as JsonValue) : historyTable(history),
        );
        return EXIT.OK;
      }),
  );
  bind(
    clusters
      .command('set')
      .description("set this cluster's descriptor (or a peer's with --peer); needs mesh.admin")
      .requiredOption('--id <clusterId>', 'the cluster id (e.g. eu-west-1)')
      .requiredOption('--state <state>', `one of ${CLUSTER_STATES.join(', ')}`)
      .option(
        '--epoch <n>',
        'the failover epoch (0..65535); it only rises, and a promotion must raise it',
        '0',
      )
      .option('--peer', "set a peer's descriptor (the active cluster a passive one follows)")
      .option('--region <region>', 'the region name')
      .option('--priority <n>', 'promotion priority (higher first)', '0')
      .option('--endpoint <host:port>', 'a public gRPC endpoint of that cluster (repeatable)', collectList)
      .option('--reason <text>', 'why, for the audit record')
      .addHelpText(
        'after',
        '\nExit 5 with EPOCH_REGRESSION when the epoch would go down or a promotion does not raise it.',
      ),
    async (ctx, options) => {
      const state = stringOption(options, 'state')!;
      if (!(CLUSTER_STATES as readonly string[]).includes(state)) {
        throw usageError(
          `--state ${JSON.stringify(state)} is not a cluster state`,
          `give one of ${CLUSTER_STATES.join(', ')}`,
        );
      }
      const region = stringOption(options, 'region');
      const reason = stringOption(options, 'reason');
      const request: SetClusterOptions = {
        clusterId: parseId(stringOption(options, 'id')!, '--id'),
        state: state as SetClusterOptions['state'],
        failoverEpoch: parseWhole(stringOption(options, 'epoch')!, '--epoch'),
        priority: parseWhole(stringOption(options, 'priority')!, '--priority'),
        peer: options['peer'] === true,
        endpoints: (listOption(options, 'endpoint') ?? []).map((e) => parseAddress(e, '--endpoint')),
        ...(region === undefined ? {} : { region }),
        ...(reason === undefined ? {} : { reason }),
      };
      return ctx.withClient(async (client) => {
        const view = await client.setCluster(request);
        ctx.io.stdout(ctx.output === 'json' ? clustersJson(view) : clustersTable(view));
        return EXIT.OK;
      });
    },
  );
  registerPromote(clusters, bind);
}

/** withIdArgument makes the positional <id> reach the action as the option `id`. */
function withIdArgument(command: Command): Command {
  return command.hook('preAction', (self) => {
    self.setOptionValue('id', self.args[0]);
  });
}

/** failoverOptions reads --lag-max-seconds and --catch-up-ms. */
function failoverOptions(options: Record<string, unknown>): PromoteOptions {
  return {
    lagSecondsMax: parseWhole(stringOption(options, 'lagMaxSeconds')!, '--lag-max-seconds'),
    catchUpMs: parsePositiveMs(stringOption(options, 'catchUpMs')!, '--catch-up-ms'),
  };
}

/**
 * registerPromote adds `omnirelay mesh clusters promote <id> [--force]`: a planned failover to
 * the passive cluster the endpoints reach (see cluster-failover.ts for the steps), or with
 * --force an emergency failover when its active cluster does not answer (cluster-emergency.ts);
 * and `omnirelay mesh clusters failback <id>`, the planned failover back to an old active.
 */
function registerPromote(clusters: Command, bind: Bind): void {
  bind(
    withIdArgument(
      clusters
        .command('promote')
        .argument('<id>', 'the passive cluster to promote')
        .description(
          'planned failover: drain the active cluster, wait for <id> to catch up, raise the epoch, flip both',
        )
        .option('--force', 'emergency failover: promote <id> although its active cluster does not answer')
        .option('--lag-max-seconds <s>', 'the replication lag the preflight accepts', '5')
        .option('--catch-up-ms <ms>', 'how long to wait for <id> to catch up after the drain', '10000')
        .addHelpText(
          'after',
          '\n--endpoints reach the passive cluster <id>; the active one is reached at the endpoints of its descriptor.\nExit 5 when a preflight check or the catch-up fails (the step is named).\nWith --force, the active cluster is expected down: each endpoint of its descriptor is asked once, all together, within 500 ms (or --timeout if shorter), and the preflight step says what each one did; exit 5 when one answers (run the planned failover); the warning names what may be lost.',
        ),
    ),
    async (ctx, options) => {
      const id = parseId(stringOption(options, 'id') ?? '', '<id>');
      if (options['force'] === true) return forcePromote(ctx, id);
      return promote(ctx, id, failoverOptions(options));
    },
  );
  bind(
    withIdArgument(
      clusters
        .command('failback')
        .argument('<id>', 'the cluster to make active again (an old active, superseded or passive)')
        .description(
          'planned failover back to <id>: a superseded old active stands down and catches up first',
        )
        .option('--lag-max-seconds <s>', 'the replication lag the preflight accepts', '5')
        .option('--catch-up-ms <ms>', 'how long to wait for <id> to replicate and to catch up', '10000')
        .addHelpText(
          'after',
          '\n--endpoints reach <id>. Exit 5 when <id> is active and not superseded, draining, or its replication lags.',
        ),
    ),
    async (ctx, options) =>
      failback(ctx, parseId(stringOption(options, 'id') ?? '', '<id>'), failoverOptions(options)),
  );
}

/** CLUSTER_STATES are the states `set --state` takes. */
const CLUSTER_STATES = ['active', 'passive', 'draining'] as const;

/** parseWhole reads a whole, non-negative number for `flag` (the cluster checks its range). */
function parseWhole(text: string, flag: string): number {
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw usageError(`${flag} ${JSON.stringify(text)} is not a whole number`, `give e.g. ${flag} 1`);
  }
  return n;
}
