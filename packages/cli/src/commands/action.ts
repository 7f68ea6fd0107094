import type { Command } from 'commander';
import type { CliIo, CommandContext } from '../context';
import type { ExitCode } from '../exit-codes';

/**
 * Action is what a command does once commander has parsed it: it reads its own options (raw
 * strings, validated by the action so every bad value fails the same way), writes its output
 * through `ctx.io` and resolves to the exit code; failures are thrown and become one line.
 */
export type Action = (ctx: CommandContext, options: Readonly<Record<string, unknown>>) => Promise<ExitCode>;

/** Bind attaches an Action to a commander command (program.ts supplies it). */
export type Bind = (command: Command, action: Action) => Command;

/** stringOption reads an option commander parsed as a string (undefined when not given). */
export function stringOption(options: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * LocalAction is an Action for a command that works on local files only (`cert issue`): it gets
 * the I/O and its options, global ones included, and no cluster client, so nothing about the
 * endpoints (a malformed OMNIRELAY_ENDPOINTS, say) can make it fail.
 */
export type LocalAction = (io: CliIo, options: Readonly<Record<string, unknown>>) => Promise<ExitCode>;

/** BindLocal attaches a LocalAction to a commander command (program.ts supplies it). */
export type BindLocal = (command: Command, action: LocalAction) => Command;

/**
 * listOption reads a repeatable option whose values may also be comma lists (`--role a --role
 * b,c`), as collectList gathered it; undefined when not given.
 */
export function listOption(options: Readonly<Record<string, unknown>>, name: string): string[] | undefined {
  const value = options[name];
  return Array.isArray(value) ? value.map(String) : undefined;
}

/** collectList is the commander argument parser behind listOption: it appends each comma-separated item. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((item) => item.trim())];
}
