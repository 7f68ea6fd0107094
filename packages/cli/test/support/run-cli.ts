import type { Server } from 'node:net';
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

/**
 * closedPorts returns `count` distinct loopback ports that nothing listens on: all are bound at
 * once (so the kernel cannot hand out one twice), then released.
 */
export async function closedPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** closedPort returns one loopback port that nothing listens on. */
export async function closedPort(): Promise<number> {
  return (await closedPorts(1))[0]!;
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
