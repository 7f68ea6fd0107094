import { parseArgs } from 'node:util';

/** EXIT_BAD_ARGUMENTS is the exit status of a workload program given bad arguments. */
export const EXIT_BAD_ARGUMENTS = 2;

/**
 * argsOrExit returns the parsed arguments, or, when `parsed` is a message (the parser's way of
 * naming a bad argument), prints `<program>: <message>` on stderr and exits EXIT_BAD_ARGUMENTS.
 */
export function argsOrExit<T extends object>(program: string, parsed: T | string): T {
  return typeof parsed === 'string' ? exitBadArguments(program, parsed) : parsed;
}

/** exitBadArguments prints `<program>: <message>` on stderr and exits EXIT_BAD_ARGUMENTS. */
export function exitBadArguments(program: string, message: string): never {
  process.stderr.write(`${program}: ${message}\n`);
  process.exit(EXIT_BAD_ARGUMENTS);
}

/**
 * parseOptions runs node's parseArgs (strict: unknown options and missing values are errors)
 * over `argv` with string `options`, returning the values, or the parser's message followed by
 * `usage`.
 */
export function parseOptions<T extends Record<string, { type: 'string'; default?: string }>>(
  argv: readonly string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T }>>['values'] | string {
  try {
    return parseArgs({ args: [...argv], options }).values;
  } catch (e) {
    return `${(e as Error).message}\n${usage}`;
  }
}
