/**
 * Reading a bench's command-line options.
 */

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
