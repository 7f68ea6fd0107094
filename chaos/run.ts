/**
 * The chaos runner (chaos/README.md, "Running"):
 *
 *   npm run chaos -- [--scenario NAME]... [--suite short|long|broken] [--seed N] [--duration S] [--out DIR] [--netns auto|on|off]
 *
 * Exit status: 0 every scenario passed, 1 one did not (its seed and replay command are printed),
 * 3 bad arguments or a bad scenarios file (the message names the line).
 */
import { runChaosCommand } from './src/runner/run-command';

runChaosCommand(process.argv.slice(2), (line) => void process.stdout.write(`${line}\n`)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`chaos: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
