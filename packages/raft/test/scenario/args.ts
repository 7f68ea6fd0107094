/**
 * CommandLine is one parsed scenario command: `name pos1 pos2 key=value flag`. Positional
 * arguments are words without `=`; `rest` is the raw text after the command name, for commands
 * that take free text (a proposal) or JSON (an injected message).
 */
export interface CommandLine {
  readonly name: string;
  readonly positional: readonly string[];
  readonly keyed: ReadonlyMap<string, string>;
  readonly rest: string;
}

/** parseCommandLine splits a command line on spaces. */
export function parseCommandLine(line: string): CommandLine {
  const trimmed = line.trim();
  const space = trimmed.indexOf(' ');
  const name = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space + 1).trim();
  const positional: string[] = [];
  const keyed = new Map<string, string>();
  for (const word of rest.split(/\s+/)) {
    if (word === '') continue;
    const eq = word.indexOf('=');
    if (eq > 0) keyed.set(word.slice(0, eq), word.slice(eq + 1));
    else positional.push(word);
  }
  return { name, positional, keyed, rest };
}

/** intArg reads a keyed integer argument, or `fallback` when absent; it throws on a non-integer. */
export function intArg(cmd: CommandLine, key: string, fallback: number): number {
  const raw = cmd.keyed.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${cmd.name}: ${key}=${raw} is not an integer`);
  return value;
}

/** positionalAt reads the positional argument at `i`; it throws, naming `what`, when absent. */
export function positionalAt(cmd: CommandLine, i: number, what: string): string {
  const value = cmd.positional[i];
  if (value === undefined) throw new Error(`${cmd.name}: missing ${what}`);
  return value;
}

/** countArg reads an optional positional count at `i` (default 1), bounded by `max`. */
export function countArg(cmd: CommandLine, i: number, max: number): number {
  const raw = cmd.positional[i];
  if (raw === undefined) return 1;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new Error(`${cmd.name}: count ${raw} must be an integer in [1, ${max}]`);
  }
  return value;
}
