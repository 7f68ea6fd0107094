/**
 * runOmniRelayCli runs the real `omnirelay` binary (packages/cli/bin/omnirelay.js, which runs the
 * built CLI after `npm run bench`'s build) as a child process registered with the bench's PID
 * registry, and stops it by PID when it outlives its deadline.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stopChild, track } from '../compare/children';
import { sharedNowMs } from '../compare/time';

/** CLI_BIN is the CLI's executable script. */
const CLI_BIN = join(__dirname, '../../packages/cli/bin/omnirelay.js');

/** CliRun is one finished CLI invocation. */
export interface CliRun {
  readonly argv: readonly string[];
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
}

/** runOmniRelayCli runs `omnirelay ...argv`; a run past `deadlineMs` is killed (code null). */
export function runOmniRelayCli(argv: readonly string[], deadlineMs: number): Promise<CliRun> {
  const startedAtMs = sharedNowMs();
  const child = spawn(process.execPath, [CLI_BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const timer = setTimeout(() => void stopChild(child, 'SIGKILL'), deadlineMs);
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ argv, code, stdout, stderr, startedAtMs, endedAtMs: sharedNowMs() });
    });
  });
}
