import type { Command } from 'commander';
import { CliError, NEXT_STEP, usageError } from '../cli-error';
import type { CommandContext } from '../context';
import { EXIT, exitCodeFor } from '../exit-codes';
import type { PeerRow, PeersAnswer } from '../format/peers';
import { peersJson, peersTable } from '../format/peers';
import { parseEndpoints } from '../options';
import type { Bind } from './action';
import { collectList, listOption, stringOption } from './action';

/** HTTP_ENDPOINTS_ENV names the variable that gives the client HTTP addresses when --http-endpoints does not. */
export const HTTP_ENDPOINTS_ENV = 'OMNIRELAY_HTTP_ENDPOINTS';

/** DEFAULT_HTTP_ENDPOINTS are the client HTTP addresses of the 3-node cluster `npm start` runs. */
export const DEFAULT_HTTP_ENDPOINTS: readonly string[] = [
  '127.0.0.1:7201',
  '127.0.0.1:7202',
  '127.0.0.1:7203',
];

/** PEER_ROLE_FILTERS are the values --role takes (the server's PEER_ROLES). */
export const PEER_ROLE_FILTERS = ['leader', 'voter', 'learner'] as const;

/**
 * registerMeshPeers adds `omnirelay mesh peers list [--role R]… [--healthy | --unhealthy]
 * [--http-endpoints list]`: every member with its role, addresses, link, replication progress,
 * clock offset, version, disk and health, from GET /control/peers on the client HTTP port. It
 * asks the first endpoint that answers and then, when that node is a follower that knows the
 * leader's client address, the leader (only the leader knows match and lag).
 */
export function registerMeshPeers(mesh: Command, bind: Bind): void {
  const peers = mesh.command('peers').description('the members of the cluster, from Raft membership');
  bind(
    peers
      .command('list')
      .description('list the members with role, addresses, link, lag, clock offset and health')
      .option(
        '--role <roles>',
        'only these roles: leader, voter, learner (repeat or comma-separate)',
        collectList,
      )
      .option('--healthy', 'only healthy members')
      .option('--unhealthy', 'only unhealthy members (each with its problems)')
      .option(
        '--http-endpoints <list>',
        `the nodes' client HTTP host:port (default: $${HTTP_ENDPOINTS_ENV}, else ${DEFAULT_HTTP_ENDPOINTS.join(',')})`,
      )
      .addHelpText(
        'after',
        [
          '',
          'Healthy means: link up, at most 1,000 entries behind the leader, clock offset within the',
          'skew bound, not bound to another store, and (answering node) disk not low. MATCH and LAG',
          "are known on the leader only, VERSION and DISK-FREE for the answering node only ('-').",
          'No node answering is exit 3; -o json prints the server answer as it is.',
        ].join('\n'),
      ),
    async (ctx, options) => {
      const roles = listOption(options, 'role');
      for (const role of roles ?? []) {
        if (!(PEER_ROLE_FILTERS as readonly string[]).includes(role)) {
          throw usageError(
            `--role ${JSON.stringify(role)} is not a role`,
            `use ${PEER_ROLE_FILTERS.join(', ')}`,
          );
        }
      }
      const healthy = options['healthy'] === true;
      const unhealthy = options['unhealthy'] === true;
      if (healthy && unhealthy) {
        throw usageError('--healthy and --unhealthy cannot be used together', 'give one, or neither for all');
      }
      const flag = stringOption(options, 'httpEndpoints');
      const fromEnv = ctx.io.env[HTTP_ENDPOINTS_ENV];
      const endpoints =
        flag !== undefined
          ? parseEndpoints(flag, '--http-endpoints')
          : fromEnv !== undefined && fromEnv.trim() !== ''
            ? parseEndpoints(fromEnv, HTTP_ENDPOINTS_ENV)
            : [...DEFAULT_HTTP_ENDPOINTS];
      const query = new URLSearchParams();
      if (roles !== undefined) query.set('role', [...new Set(roles)].join(','));
      if (unhealthy) query.set('unhealthy', 'true');
      const answer = await askLeaderFirst(ctx, endpoints, query.size === 0 ? '' : `?${query.toString()}`);
      const shown: PeersAnswer = healthy
        ? { ...answer, peers: answer.peers.filter((p) => p.healthy) }
        : answer;
      ctx.io.stdout(ctx.output === 'json' ? peersJson(shown) : peersTable(shown));
      return EXIT.OK;
    },
  );
}

/**
 * askLeaderFirst asks the endpoints in order until one answers; when that one is not the leader
 * and names the leader's client address, it asks the leader too and prefers its answer.
 */
async function askLeaderFirst(
  ctx: CommandContext,
  endpoints: readonly string[],
  query: string,
): Promise<PeersAnswer> {
  let last = 'no endpoint was tried';
  for (const address of endpoints) {
    let first: PeersAnswer;
    try {
      first = await peersAt(ctx, address, '');
    } catch (e) {
      if (e instanceof CliError) throw e;
      last = `${address}: ${e instanceof Error ? e.message : String(e)}`;
      continue;
    }
    const leader: PeerRow | undefined = first.peers.find((p) => p.id === first.leader);
    const target = first.leader !== first.answeredBy ? (leader?.addresses.client ?? address) : address;
    try {
      return await peersAt(ctx, target, query);
    } catch (e) {
      if (e instanceof CliError || target === address) throw e;
      return peersAt(ctx, address, query);
    }
  }
  throw new CliError(
    EXIT.UNAVAILABLE,
    `no node answered GET /control/peers (${last})`,
    `check the nodes run and --http-endpoints (or ${HTTP_ENDPOINTS_ENV}) names their client HTTP ports (--client-address)`,
  );
}

/** peersAt asks one node; an error answer becomes a CliError with the exit code of its code. */
async function peersAt(ctx: CommandContext, address: string, query: string): Promise<PeersAnswer> {
  const { status, body } = await ctx.getJson(address, `/control/peers${query}`);
  if (status === 200) return body as PeersAnswer;
  const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
  const code = typeof error?.code === 'string' ? error.code : 'INTERNAL';
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  const next = Object.hasOwn(NEXT_STEP, code)
    ? NEXT_STEP[code as keyof typeof NEXT_STEP]
    : 'run the command again';
  throw new CliError(exitCodeFor(code), `${address}: ${message} (${code})`, next);
}
