import { createServer } from 'node:net';
import type { CliIo } from '../../src/context';
import { runCli } from '../../src/program';

/** CliRun is a finished in-process run: its exit code and everything it wrote. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** RunningCli is an in-process run that may still be going (a --watch). */
export interface RunningCli {
  /** stdout and stderr are what the run has written so far. */
  stdout(): string;
  stderr(): string;
  /** stop is the operator's Ctrl-C: it calls the handlers the run registered through onStop. */
  stop(): void;
  /** done resolves to the exit code when the run ends. */
  readonly done: Promise<number>;
}

/** startCli runs `omnirelay argv` in this process with captured output and a controllable stop. */
export function startCli(
  argv: readonly string[],
  options: { env?: Record<string, string | undefined>; nowMs?: number } = {},
): RunningCli {
  let out = '';
  let err = '';
  const stopHandlers = new Set<() => void>();
  const io: CliIo = {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    env: options.env ?? {},
    now: () => options.nowMs ?? Date.now(),
    onStop: (handler) => {
      stopHandlers.add(handler);
      return () => stopHandlers.delete(handler);
    },
  };
  return {
    stdout: () => out,
    stderr: () => err,
    stop: () => {
      for (const h of [...stopHandlers]) h();
    },
    done: runCli(argv, io),
  };
}

/** runCliInProcess runs `omnirelay argv` to the end in this process. */
export async function runCliInProcess(
  argv: readonly string[],
  options: { env?: Record<string, string | undefined>; nowMs?: number } = {},
): Promise<CliRun> {
  const run = startCli(argv, options);
  const code = await run.done;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** closedPort returns a loopback port that was just free: nothing listens there (connections are refused). */
export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** waitFor polls `check` every 25 ms until it is true, or throws after `timeoutMs` naming `what` and `detail()`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${detail() === '' ? '' : `; ${detail()}`}`,
  );
}

/** expectOneErrorLine checks stderr is exactly one `omnirelay: <what>; <next>` line. */
export function expectOneErrorLine(stderr: string): void {
  expect(stderr).toMatch(/^omnirelay: [^\n]+; [^\n]+\n$/);
}
