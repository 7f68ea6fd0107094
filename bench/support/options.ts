/**
 * Reading a bench's command-line options.
 */
import { resolve } from 'node:path';

/** refuse ends the process with exit code 2 and `line`, the reason a bench's option was refused. */
function refuse(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(2);
}

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
  if (!Number.isInteger(v) || v < min || v > max) refuse(`${flag} must be an integer in [${min}, ${max}]`);
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
  if (v === undefined || v.startsWith('--')) refuse(`${flag} needs a folder`);
  return resolve(v);
}

/** NODE_ARG_OPTION adds one Node.js or V8 flag to every OmniRelay node a bench starts (repeatable). */
export const NODE_ARG_OPTION = '--node-arg=';

/**
 * nodeArgOf returns the flag that `arg` (`--node-arg=FLAG`) adds to every node's command line,
 * or undefined when `arg` is another option. A value that is not a flag (it must start with `-`:
 * a path or a word would become the node's entry script or its argument) throws `fail(reason)`.
 */
export function nodeArgOf(arg: string, fail: (reason: string) => Error): string | undefined {
  if (!arg.startsWith(NODE_ARG_OPTION)) return undefined;
  const flag = arg.slice(NODE_ARG_OPTION.length);
  if (!/^--?[A-Za-z]/.test(flag)) {
    throw fail(
      `${NODE_ARG_OPTION}FLAG takes a Node.js or V8 flag such as --trace-gc, got ${JSON.stringify(flag)}`,
    );
  }
  return flag;
}

/**
 * nodeArgsOption reads every `--node-arg=FLAG` of `argv`, in order (none: an empty list); a value
 * that is not a flag ends the process with exit code 2 and the reason, as intOption does.
 */
export function nodeArgsOption(argv: readonly string[]): string[] {
  return argv.flatMap((a) => nodeArgOf(a, refuse) ?? []);
}
