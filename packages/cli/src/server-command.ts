import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, usageError } from './cli-error';
import type { CliIo } from './context';
import type { ExitCode } from './exit-codes';
import { EXIT } from './exit-codes';

/** SERVER_BIN_ENV names the variable that points `omnirelay` at the `omnirelay-server` to run. */
export const SERVER_BIN_ENV = 'OMNIRELAY_SERVER_BIN';

/**
 * serverInvocation says how to run `omnirelay-server`: the file $OMNIRELAY_SERVER_BIN names (a
 * `.js` file runs with this Node.js), else the server package of the repository this CLI runs
 * from (its sources through @swc-node/register when the CLI itself runs from sources, its build
 * otherwise), else `omnirelay-server` from PATH.
 */
export function serverInvocation(env: CliIo['env']): { command: string; args: string[] } {
  const fromEnv = env[SERVER_BIN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    return fromEnv.endsWith('.js')
      ? { command: process.execPath, args: [fromEnv] }
      : { command: fromEnv, args: [] };
  }
  const server = resolve(__dirname, '..', '..', 'server');
  if (__filename.endsWith('.ts') && existsSync(join(server, 'src', 'main.ts'))) {
    return { command: process.execPath, args: ['-r', '@swc-node/register', join(server, 'src', 'main.ts')] };
  }
  if (existsSync(join(server, 'dist', 'main.js'))) {
    return { command: process.execPath, args: [join(server, 'dist', 'main.js')] };
  }
  return { command: 'omnirelay-server', args: [] };
}

/**
 * runServerCommand runs `omnirelay-server <argv>` (a one-shot command such as `restore`) with its
 * output passed through to `io`, and resolves to its exit code: 0 and 2 (bad input, nothing
 * written) as they are, anything else 1. A server that cannot be found is a one-line usage error.
 */
export function runServerCommand(io: CliIo, argv: readonly string[]): Promise<ExitCode> {
  const { command, args } = serverInvocation(io.env);
  return new Promise((done, fail) => {
    const child = spawn(command, [...args, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...io.env },
    });
    child.stdout.setEncoding('utf8').on('data', (text: string) => io.stdout(text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => io.stderr(text));
    child.once('error', (e: NodeJS.ErrnoException) => {
      fail(
        e.code === 'ENOENT'
          ? usageError(
              `cannot run ${command}: it is not installed here`,
              `install the server package, or set ${SERVER_BIN_ENV} to its omnirelay-server`,
            )
          : new CliError(
              EXIT.INTERNAL,
              `cannot run ${command} (${e.message})`,
              'report it with the command you ran',
            ),
      );
    });
    child.once('close', (code) => done(code === 0 ? EXIT.OK : code === 2 ? EXIT.USAGE : EXIT.INTERNAL));
  });
}
