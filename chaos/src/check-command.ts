import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isChaosError } from './errors';
import { readRunFolder } from './read-run';
import { checkRun } from './run-checks';

/** CHECK_EXIT_CODES are the command's exit statuses, one per verdict. */
export const CHECK_EXIT_CODES = { valid: 0, invalid: 1, unknown: 2 } as const;
/** CHECK_EXIT_BAD_INPUT is the exit status for bad arguments or a malformed history. */
export const CHECK_EXIT_BAD_INPUT = 3;

const USAGE = 'usage: check.ts <run folder> [--out verdict.json] [--step-budget N]';

/** CheckOutput is where the command writes: the verdict JSON and error messages. */
export interface CheckOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/**
 * runCheckCommand runs the checkers over the run folder named in `argv` (the arguments after
 * the script), prints the JSON verdict to stdout, also writes it to `--out` when given, and
 * returns the exit status: CHECK_EXIT_CODES for the verdict, CHECK_EXIT_BAD_INPUT (with a
 * message on stderr naming the argument, or the file and line) for bad input.
 */
export function runCheckCommand(argv: readonly string[], output: CheckOutput): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { out: { type: 'string' }, 'step-budget': { type: 'string' } },
    });
  } catch (e) {
    output.stderr(`check: ${(e as Error).message}\n${USAGE}\n`);
    return CHECK_EXIT_BAD_INPUT;
  }
  const { values, positionals } = parsed;
  const [dir] = positionals;
  if (dir === undefined || positionals.length !== 1) {
    output.stderr(`check: name exactly one run folder\n${USAGE}\n`);
    return CHECK_EXIT_BAD_INPUT;
  }
  const budgetText = values['step-budget'];
  if (budgetText !== undefined && !/^\d{1,10}$/.test(budgetText)) {
    output.stderr(`check: --step-budget must be a positive integer, got ${budgetText}\n`);
    return CHECK_EXIT_BAD_INPUT;
  }
  try {
    const verdict = checkRun(
      readRunFolder(dir),
      budgetText === undefined ? {} : { stepBudget: Number(budgetText) },
    );
    const text = `${JSON.stringify(verdict, null, 2)}\n`;
    if (values.out !== undefined) writeFileSync(values.out, text);
    output.stdout(text);
    return CHECK_EXIT_CODES[verdict.verdict];
  } catch (e) {
    if (!isChaosError(e)) throw e;
    output.stderr(`check: ${e.code}: ${e.message}\n`);
    return CHECK_EXIT_BAD_INPUT;
  }
}
