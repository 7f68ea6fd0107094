import type { Command } from 'commander';
import type { CommandContext } from '../context';
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
