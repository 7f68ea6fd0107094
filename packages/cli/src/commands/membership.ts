import type { Members, OmniRelayClient } from '@omnirelay/client-sdk';
import type { Command } from 'commander';
import type { CommandContext } from '../context';
import type { ExitCode } from '../exit-codes';
import { EXIT } from '../exit-codes';
import { jsonDocument } from '../format/json';
import { membersObject, membersTable } from '../format/members';
import { parseAddress, parseId } from '../options';
import { confirmRemoval, waitCaughtUp, waitRemoved } from '../wait-membership';
import type { Bind } from './action';
import { stringOption } from './action';

/** WAIT_HELP explains --wait in each membership command's help. */
const WAIT_HELP =
  'wait until the change is applied and (add-learner, promote) the member is caught up, bounded by --timeout; progress goes to stderr';

/** MEMBERSHIP_HELP_EPILOGUE ends the help of each membership command. */
const MEMBERSHIP_HELP_EPILOGUE = [
  '',
  'One change at a time; the leader answers once the change is applied. A refused change',
  '(already a member, not a learner, the last voter) is exit 2 and changes nothing; a learner',
  'that is not caught up yet is exit 5. With --wait, a member that does not catch up within',
  '--timeout is exit 6 (the change itself stays applied). Needs the mesh.admin role.',
].join('\n');

/**
 * registerMembership adds the single-server membership changes under `omnirelay cluster`:
 * `add-learner <id> <peer-address> [--client-address A] [--grpc-address G]` (a node started with
 * --join; its client addresses travel in the replicated membership), `promote <id>` (a caught-up
 * learner becomes a voter) and `remove <id>` (a voter or learner), each with `--wait`.
 */
export function registerMembership(cluster: Command, bind: Bind): void {
  bind(
    withArguments(
      cluster
        .command('add-learner')
        .description(
          'add a non-voting member (a node started with --join) listening for peers at <peer-address>',
        )
        .argument('<id>', 'the new member id')
        .argument('<peer-address>', 'host:port where the new member listens for peers')
        .option('--client-address <host:port>', "the new member's client HTTP address (its --client-address)")
        .option('--grpc-address <host:port>', "the new member's public gRPC address (its --grpc-address)"),
      ['id', 'peerAddress'],
    ),
    async (ctx, options) => {
      const id = parseId(stringOption(options, 'id') ?? '', '<id>');
      const peerAddress = parseAddress(stringOption(options, 'peerAddress') ?? '', '<peer-address>');
      const clientAddress = stringOption(options, 'clientAddress');
      const grpcAddress = stringOption(options, 'grpcAddress');
      const addresses = {
        ...(clientAddress === undefined
          ? {}
          : { clientAddress: parseAddress(clientAddress, '--client-address') }),
        ...(grpcAddress === undefined ? {} : { grpcAddress: parseAddress(grpcAddress, '--grpc-address') }),
      };
      const changed = await ctx.withClient((client) => client.addLearner(id, peerAddress, addresses));
      return report(
        ctx,
        options,
        { type: 'addLearner', id, text: `added ${id} as a learner (peer ${peerAddress})` },
        changed,
      );
    },
  );

  const byId = [
    {
      type: 'promote',
      description: 'make a caught-up learner a voter',
      argument: 'the learner to promote',
      change: (client: OmniRelayClient, id: string) => client.promote(id),
      text: (id: string) => `promoted ${id} to voter`,
    },
    {
      type: 'remove',
      description: 'remove a voter or a learner',
      argument: 'the member to remove',
      change: (client: OmniRelayClient, id: string) => client.removeMember(id),
      text: (id: string) => `removed ${id}`,
    },
  ] as const;
  for (const command of byId) {
    bind(
      withArguments(
        cluster.command(command.type).description(command.description).argument('<id>', command.argument),
        ['id'],
      ),
      async (ctx, options) => {
        const id = parseId(stringOption(options, 'id') ?? '', '<id>');
        const changed = await ctx
          .withClient((client) => command.change(client, id))
          .catch((e: unknown) => {
            if (command.type !== 'remove') throw e;
            return confirmRemoval(ctx, id, e);
          });
        return report(ctx, options, { type: command.type, id, text: command.text(id) }, changed);
      },
    );
  }
}

/** Change names an applied membership change for the output. */
interface Change {
  readonly type: 'addLearner' | 'promote' | 'remove';
  readonly id: string;
  /** text is the first line of the table output. */
  readonly text: string;
}

/**
 * report waits when --wait asks (for catch-up, or for the removal to be seen), then prints the
 * change and the leader's view of the members: a line and the members table, or one JSON
 * document `{change: {type, id}, waited, answeredBy, leader, members}`.
 */
async function report(
  ctx: CommandContext,
  options: Readonly<Record<string, unknown>>,
  change: Change,
  changed: Members,
): Promise<ExitCode> {
  const wait = options['wait'] === true;
  let view = changed;
  if (wait && change.type === 'remove') await waitRemoved(ctx, change.id);
  else if (wait) view = await waitCaughtUp(ctx, change.id);
  const suffix = !wait
    ? ''
    : change.type === 'remove'
      ? '; every node answering has applied it'
      : '; caught up';
  ctx.io.stdout(
    ctx.output === 'json'
      ? jsonDocument({ change: { type: change.type, id: change.id }, waited: wait, ...membersObject(view) })
      : `${change.text}${suffix}\n${membersTable(view)}`,
  );
  return EXIT.OK;
}

/**
 * withArguments adds --wait and the help epilogue, and hands the positional arguments to the
 * action as the options `names` (in order).
 */
function withArguments(command: Command, names: readonly string[]): Command {
  return command
    .option('--wait', WAIT_HELP)
    .addHelpText('after', MEMBERSHIP_HELP_EPILOGUE)
    .hook('preAction', (self) => {
      names.forEach((name, i) => self.setOptionValue(name, self.args[i]));
    });
}
