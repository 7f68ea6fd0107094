import type { Command } from 'commander';
import { CliError, tlsFailureHint } from '../cli-error';
import { EXIT } from '../exit-codes';
import type { NodeReport } from '../format/nodes';
import { isUnreachable, statusJson, statusTable } from '../format/nodes';
import type { Bind } from './action';

/** ACCESS_REFUSED are the codes of a node that answered but refused the caller's credentials. */
const ACCESS_REFUSED: ReadonlySet<string> = new Set(['UNAUTHENTICATED', 'PERMISSION_DENIED']);

/**
 * registerStatus adds `omnirelay status`: every endpoint's node status (id, role, term, leader,
 * commit, applied, members), asked in parallel; a node that does not answer is shown as
 * unreachable. Exit 0 when at least one answers, 3 when none does, and 7 (the refusal's own line)
 * when none does and one refused the credentials.
 */
export function registerStatus(program: Command, bind: Bind): void {
  const command = program
    .command('status')
    .description("every endpoint's node status: id, role, term, leader, commit, applied, members")
    .addHelpText('after', '\nExit 0 when at least one endpoint answers, 3 when none does.');
  bind(command, async (ctx) =>
    ctx.withClient(async (client) => {
      const answers = await client.statusAll();
      const reports: NodeReport[] = answers.map((r) =>
        'error' in r ? { address: r.address, error: { code: r.error.code, message: r.error.message } } : r,
      );
      if (reports.every(isUnreachable)) {
        // Nodes that refused the credentials did answer: say that, not "no endpoint answered".
        const refused = answers.find((r) => 'error' in r && ACCESS_REFUSED.has(r.error.code));
        if (refused !== undefined && 'error' in refused) throw refused.error;
        const tls = reports
          .map((r) => ('error' in r ? tlsFailureHint(r.error.message) : undefined))
          .find((hint) => hint !== undefined);
        throw new CliError(
          EXIT.UNAVAILABLE,
          `no endpoint answered (${ctx.endpoints.join(', ')})`,
          tls ?? 'check the nodes are running and --endpoints (or OMNIRELAY_ENDPOINTS) is right',
        );
      }
      ctx.io.stdout(ctx.output === 'json' ? statusJson(reports) : statusTable(reports));
      return EXIT.OK;
    }),
  );
}
