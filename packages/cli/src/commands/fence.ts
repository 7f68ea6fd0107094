import type { Command } from 'commander';
import { CliError } from '../cli-error';
import { EXIT } from '../exit-codes';
import type { FenceCheck } from '../format/results';
import { fenceJson, fenceStaleText, fenceValidText } from '../format/results';
import { parseFence, parseScope } from '../options';
import type { Bind } from './action';
import { stringOption } from './action';

/**
 * registerFence adds `omnirelay fence validate --scope S --fence T`: exit 0 when T is the
 * current holder's fence token, 5 (with the current holder and fence on stderr) when it is not.
 * With -o json the answer is printed in both cases. The option is --fence, as in `leadership
 * stepdown`: the global --token is the bearer token.
 */
export function registerFence(program: Command, bind: Bind): void {
  const fence = program.command('fence').description('fence tokens');
  bind(
    fence
      .command('validate')
      .description("check a fence token against the cluster: valid only if it is the current holder's")
      .requiredOption('--scope <scope>', 'the scope the token was issued for')
      .requiredOption('--fence <token>', 'the fence token (a decimal uint64)')
      .addHelpText('after', "\nExit 0 if the fence token is the current holder's, 5 if it is stale."),
    async (ctx, options) => {
      const scope = parseScope(stringOption(options, 'scope') ?? '', '--scope');
      const token = parseFence(stringOption(options, 'fence') ?? '', '--fence');
      return ctx.withClient(async (client) => {
        const r = await client.validateFence(scope, token);
        const check: FenceCheck = { scope, fence: token, valid: r.valid, current: r.current };
        if (ctx.output === 'json') ctx.io.stdout(fenceJson(check));
        if (!check.valid) {
          throw new CliError(
            EXIT.REJECTED,
            fenceStaleText(check),
            `a writer holding fence ${token} must stop; re-read the holder with 'omnirelay mesh leaders status --scope ${scope}'`,
          );
        }
        if (ctx.output === 'table') ctx.io.stdout(fenceValidText(check));
        return EXIT.OK;
      });
    },
  );
}
