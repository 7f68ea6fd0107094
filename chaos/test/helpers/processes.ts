import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(__dirname, '../../..');

/** Started is a child process of a test and the JSON lines it printed on stdout. */
export interface Started {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  /** stderr collects what it printed on stderr (for failure messages). */
  readonly stderr: string[];
}

/** startScript runs a chaos TypeScript program (`chaos/src/...`) from source, by PID, with `args`. */
export function startScript(script: string, args: readonly string[]): Started {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.check.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started: Started = { child, lines: [], stderr: [] };
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      started.lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      started.stderr.push(`stdout: ${line}`);
    }
  });
  child.stderr.on('data', (c: Buffer) => started.stderr.push(c.toString()));
  return started;
}

/** waitFor polls `check` every 50 ms until it holds, or throws after `timeoutMs` naming `what`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** waitForLine waits until `started` printed a JSON line with `key`, and returns that line. */
export async function waitForLine(
  started: Started,
  key: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  await waitFor(
    `a line with "${key}" (stderr: ${started.stderr.join('').slice(-500)})`,
    () => started.lines.some((l) => key in l),
    timeoutMs,
  );
  return started.lines.find((l) => key in l)!;
}

/** exited resolves with the exit code once `started` exits (at once if it has), or rejects after `timeoutMs`. */
export function exited(started: Started, timeoutMs = 20_000): Promise<number | null> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pid ${child.pid} did not exit in ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** stopAll kills, by PID, every child of `started` still running (SIGCONT first, in case it was stopped). */
export function stopAll(started: readonly Started[]): void {
  for (const { child } of started) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    process.kill(child.pid, 'SIGCONT');
    process.kill(child.pid, 'SIGKILL');
  }
}
