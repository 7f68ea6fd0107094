import type { StepDownOptions } from '@omnirelay/client-sdk';
import type { Command } from 'commander';
import { usageError } from '../cli-error';
import { EXIT } from '../exit-codes';
import { stepDownJson, stepDownText } from '../format/results';
import { parseFence, parseId, parsePositiveMs, parseScope } from '../options';
import type { Bind } from './action';
import { stringOption } from './action';

/**
 * registerLeadership adds `omnirelay leadership stepdown --scope S [--to ID] [--fence T]
 * [--successor-ttl-ms MS]`: the operator removes a scope's holder, optionally handing the scope
 * to a candidate. With --fence the cluster refuses (exit 5) unless T is still the holder's, so
 * an operator acting on an old view cannot remove a newer holder.
 */
export function registerLeadership(program: Command, bind: Bind): void {
  const leadership = program.command('leadership').description("operator actions on a scope's leadership");
  bind(
    leadership
      .command('stepdown')
      .description("remove a scope's holder (operator), optionally handing the scope to a candidate")
      .requiredOption('--scope <scope>', 'the scope whose holder steps down')
      .option(
        '--to <candidate>',
        'hand the scope to this candidate (a waiting one, or any with --successor-ttl-ms)',
      )
      .option('--fence <token>', "act only if this is still the holder's fence token")
      .option(
        '--successor-ttl-ms <ms>',
        "lease TTL for a --to candidate that is not waiting in the scope's queue",
      )
      .addHelpText(
        'after',
        "\nA vacant scope, or a --fence that is not the holder's, is refused with exit 5.\n" +
          'Without --fence the step-down is never retried once it may have been applied.',
      ),
    async (ctx, options) => {
      const scope = parseScope(stringOption(options, 'scope') ?? '', '--scope');
      const to = stringOption(options, 'to');
      const fence = stringOption(options, 'fence');
      const successorTtl = stringOption(options, 'successorTtlMs');
      if (successorTtl !== undefined && to === undefined) {
        throw usageError(
          '--successor-ttl-ms needs --to',
          'name the candidate to hand the scope to with --to',
        );
      }
      const request: StepDownOptions = {
        ...(to === undefined ? {} : { to: parseId(to, '--to') }),
        ...(fence === undefined ? {} : { fence: parseFence(fence, '--fence') }),
        ...(successorTtl === undefined
          ? {}
          : { successorTtlMs: parsePositiveMs(successorTtl, '--successor-ttl-ms') }),
      };
      return ctx.withClient(async (client) => {
        const r = await client.stepDown(scope, request);
        ctx.io.stdout(ctx.output === 'json' ? stepDownJson(r) : stepDownText(r));
        return EXIT.OK;
      });
    },
  );
}
