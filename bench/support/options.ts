/**
 * Reading a bench's command-line options.
 */
import { resolve } from 'node:path';

/**
 * intOption reads `flag`'s value from `argv` as an integer in [min, max], or `fallback` when the
 * flag is absent; any other value ends the process with exit code 2 and a line naming the flag.
 */
export function intOption(
  argv: readonly string[],
  flag: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const i = argv.indexOf(flag);
  if (i === -1) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`${flag} must be an integer in [${min}, ${max}]\n`);
    process.exit(2);
  }
  return v;
}

/**
 * pathOption reads `flag`'s value from `argv` as a path resolved against the working folder, or
 * undefined when the flag is absent; a flag with no value ends the process with exit code 2.
 */
export function pathOption(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i === -1) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) {
    process.stderr.write(`${flag} needs a folder\n`);
    process.exit(2);
  }
  return resolve(v);
}
