import type { Command } from 'commander';
import { usageError } from '../cli-error';
import { EXIT } from '../exit-codes';
import type { Selection } from '../format/leaders';
import { leadersJson, leadersTable } from '../format/leaders';
import { parseScope } from '../options';
import { readLeaders, watchLeaders } from '../watch-leaders';
import type { Bind } from './action';
import { stringOption } from './action';
import { registerMeshPeers } from './mesh-peers';

/**
 * registerMeshLeaders adds `omnirelay mesh leaders status [--scope S | --prefix P] [--watch]`:
 * the current holders, sorted by scope. --scope is one exact scope; --prefix every scope whose
 * name starts with P; neither lists every held scope. --watch then prints each holder change
 * as it happens until SIGINT/SIGTERM (exit 0). It also adds `omnirelay mesh peers list` (mesh-peers.ts).
 */
export function registerMeshLeaders(program: Command, bind: Bind): void {
  const mesh = program.command('mesh').description('the service mesh view of the cluster');
  registerMeshPeers(mesh, bind);
  const leaders = mesh.command('leaders').description('who leads each scope');
  bind(
    leaders
      .command('status')
      .description(
        'list the current holders (all, one exact --scope, or a --prefix); --watch follows changes',
      )
      .option('--scope <scope>', 'one exact scope (e.g. global-control)')
      .option('--prefix <prefix>', 'every scope whose name starts with this (e.g. shard/orders/)')
      .option('--watch', 'after the list, print each holder change as it happens, until Ctrl-C')
      .addHelpText(
        'after',
        [
          '',
          'Table columns: SCOPE, HOLDER, FENCE, TERM (holder changes of the scope), TTL, and',
          "EXPIRES-IN (the lease deadline on the Raft leader's clock, minus now).",
          'With --watch each change is one line: time revision= scope= reason= holder= fence= term=',
          'ttl= previous=<holder>/<fence>; with -o json, one JSON object per line (a snapshot first).',
          'The watch survives node restarts and leader changes; Ctrl-C or SIGTERM ends it with exit 0.',
        ].join('\n'),
      ),
    async (ctx, options) => {
      const scope = stringOption(options, 'scope');
      const prefix = stringOption(options, 'prefix');
      if (scope !== undefined && prefix !== undefined) {
        throw usageError(
          '--scope and --prefix cannot be used together',
          'give one exact --scope or one --prefix',
        );
      }
      const selection: Selection =
        scope !== undefined
          ? { kind: 'scope', scope: parseScope(scope, '--scope') }
          : prefix !== undefined && prefix !== ''
            ? { kind: 'prefix', prefix }
            : { kind: 'all' };
      return ctx.withClient(async (client) => {
        if (options['watch'] === true) return watchLeaders(ctx, client, selection);
        const leases = await readLeaders(client, selection);
        ctx.io.stdout(
          ctx.output === 'json' ? leadersJson(leases) : leadersTable(leases, ctx.io.now(), selection),
        );
        return EXIT.OK;
      });
    },
  );
}
