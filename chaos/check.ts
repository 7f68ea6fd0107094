/**
 * The chaos checkers' command: reads a run folder of history files, runs every checker and
 * prints the JSON verdict (chaos/README.md).
 *
 *   node -r @swc-node/register chaos/check.ts <dir> [--out verdict.json] [--step-budget N]
 *
 * Exit status: 0 valid, 1 invalid, 2 unknown (a checker could not decide), 3 bad arguments or
 * malformed history (the message names the file and line).
 */
import { runCheckCommand } from './src/check-command';

process.exitCode = runCheckCommand(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
