import type { NodeStatus, OmniRelayError } from '@omnirelay/client-sdk';
import type { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { membersJson, membersTable } from '../format/members';
import { transferJson, transferText } from '../format/results';
import { parseId } from '../options';
import type { Bind } from './action';
import { stringOption } from './action';
import { registerMembership } from './membership';

/**
 * registerCluster adds `omnirelay cluster members` (the Raft configuration with link state and,
 * from the leader, replication progress), `omnirelay cluster transfer-leader [--to ID]`, and the
 * membership changes `add-learner`, `promote` and `remove` (commands/membership.ts).
 */
export function registerCluster(program: Command, bind: Bind): void {
  const cluster = program
    .command('cluster')
    .description('the Raft cluster: members, membership changes, leadership transfer');

  bind(
    cluster
      .command('members')
      .description('the members with their role, peer address, link state and replication progress'),
    async (ctx) => {
      // Only the Raft leader knows replication progress, and a fresh SDK client sends Members to
      // the first endpoint, which answers even as a follower: put the leader's endpoint first.
      const endpoints = await ctx.withClient(async (client) => leaderFirst(await client.statusAll()));
      return ctx.withClient(async (client) => {
        const members = await client.members();
        ctx.io.stdout(ctx.output === 'json' ? membersJson(members) : membersTable(members));
        return EXIT.OK;
      }, endpoints);
    },
  );

  bind(
    cluster
      .command('transfer-leader')
      .description('hand Raft leadership to --to (or to the most caught-up voter) and wait for it')
      .option('--to <id>', 'the voter to hand leadership to (default: the most caught-up one)'),
    async (ctx, options) => {
      const raw = stringOption(options, 'to');
      const to = raw === undefined ? undefined : parseId(raw, '--to');
      return ctx.withClient(async (client) => {
        const r = await client.transferLeadership(to);
        ctx.io.stdout(ctx.output === 'json' ? transferJson(r) : transferText(r));
        return EXIT.OK;
      });
    },
  );

  registerMembership(cluster, bind);
}

/**
 * leaderFirst orders the endpoints so that one that reported itself leader comes first; the
 * others keep their order (the SDK tries them in turn).
 */
export function leaderFirst(
  reports: readonly (NodeStatus | { readonly address: string; readonly error: OmniRelayError })[],
): string[] {
  const addresses = reports.map((r) => r.address);
  const leader = reports.find((r) => !('error' in r) && r.role === 'leader');
  return leader === undefined
    ? addresses
    : [leader.address, ...addresses.filter((a) => a !== leader.address)];
}
