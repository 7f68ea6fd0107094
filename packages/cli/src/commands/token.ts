import type { Command } from 'commander';
import { CLIENT_ROLES } from '@omnirelay/certs';
import type { CliIo } from '../context';
import { EXIT } from '../exit-codes';
import type { ExitCode } from '../exit-codes';
import { createdJson, createdNotice, revokedJson, revokedText } from '../format/token';
import { parseOutput } from '../options';
import { createToken, revokeToken } from '../token/tokens-file';
import type { BindLocal } from './action';
import { collectList, listOption, stringOption } from './action';

/**
 * registerToken adds `omnirelay token create` and `omnirelay token revoke`, which mint a bearer
 * token into the nodes' tokens file and remove one (see token/tokens-file.ts). They touch only the
 * local file. A new token is printed once, on stdout, and nowhere else.
 */
export function registerToken(program: Command, bind: BindLocal): void {
  const token = program.command('token').description("bearer tokens in the nodes' tokens file");

  bind(
    tokensFile(
      token
        .command('create')
        .description('mint a token for an identity, add its hash to --tokens-file and print the token once')
        .requiredOption('--name <name>', 'the identity the token names'),
    )
      .option('--role <roles>', `roles (repeatable or a comma list): ${CLIENT_ROLES.join(', ')}`, collectList)
      .option(
        '--scope-prefix <prefixes>',
        'scope prefixes it may campaign for (repeatable or a comma list), e.g. shard/orders/; * for every scope',
        collectList,
      )
      .option('--replace', 'mint a new token for a name already in the file (its old token stops working)')
      .addHelpText(
        'after',
        '\nThe token is printed on stdout only (with -o json, in the JSON): store it now, it cannot be shown again.',
      ),
    async (io, options) => {
      const output = parseOutput(stringOption(options, 'output') ?? 'table');
      const created = await createToken({
        tokensFile: stringOption(options, 'tokensFile') ?? '',
        name: stringOption(options, 'name') ?? '',
        roles: listOption(options, 'role'),
        scopePrefixes: listOption(options, 'scopePrefix'),
        replace: options['replace'] === true,
      });
      if (output === 'json') {
        io.stdout(createdJson(created));
      } else {
        io.stdout(`${created.token}\n`);
        io.stderr(createdNotice(created));
      }
      return EXIT.OK;
    },
  );

  bind(
    tokensFile(
      token
        .command('revoke')
        .description(
          "remove an identity's token from --tokens-file (nodes refuse it once they re-read the file)",
        )
        .requiredOption('--name <name>', 'the identity whose token to remove'),
    ),
    async (io: CliIo, options): Promise<ExitCode> => {
      const output = parseOutput(stringOption(options, 'output') ?? 'table');
      const name = stringOption(options, 'name') ?? '';
      const revoked = await revokeToken({ tokensFile: stringOption(options, 'tokensFile') ?? '', name });
      io.stdout(
        output === 'json' ? revokedJson(name, revoked.tokensFile) : revokedText(name, revoked.tokensFile),
      );
      return EXIT.OK;
    },
  );
}

/** tokensFile adds the --tokens-file option every token command needs. */
function tokensFile(command: Command): Command {
  return command.requiredOption(
    '--tokens-file <path>',
    "the nodes' tokens file (their --auth-tokens-file); created with mode 0600 when missing",
  );
}
