import { execFile, execFileSync } from 'node:child_process';

/** SHELL_TIMEOUT_MS bounds every system command the harness runs (ip, nft, mount). */
export const SHELL_TIMEOUT_MS = 10_000;

/** HarnessError is a system command that failed: the command line, its status and its stderr. */
export class HarnessError extends Error {
  override readonly name = 'HarnessError';
}

/** run runs a command without a shell and returns its stdout; a non-zero exit throws HarnessError. */
export function run(command: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      timeout: SHELL_TIMEOUT_MS,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input === undefined ? {} : { input }),
    });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new HarnessError(`${command} ${args.join(' ')} failed: ${stderr.trim() || String(e)}`);
  }
}

/** tryRun is run that answers undefined instead of throwing (for probes and idempotent undo). */
export function tryRun(command: string, args: readonly string[], input?: string): string | undefined {
  try {
    return run(command, args, input);
  } catch {
    return undefined;
  }
}

/** runAsync runs a command and resolves with its stdout (for commands that may take a while). */
export function runAsync(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8', timeout: SHELL_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new HarnessError(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** isRoot says whether this process runs as root (namespaces, nftables and mounts need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
