import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { CleanupRegistry } from './cleanup';

/** STOP_GRACE_MS is how long a SIGTERM-ed process may take before it gets SIGKILL. */
export const STOP_GRACE_MS = 5_000;
/** READY_TIMEOUT_MS_MAX bounds how long `waitForLine` waits. */
export const READY_TIMEOUT_MS_MAX = 60_000;

/** ProcessSpec says how to start one process: argv (prefix such as `ip netns exec` included), env, log. */
export interface ProcessSpec {
  readonly name: string;
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** logFile receives stderr (and stdout unless `pipeStdout`). */
  readonly logFile: string;
  /** pipeStdout keeps stdout readable (for a ready line); it is then copied to nothing else. */
  readonly pipeStdout?: boolean;
  /** pipeStdin keeps stdin writable (for `send`). */
  readonly pipeStdin?: boolean;
}

/**
 * ManagedProcess is one child the harness owns, addressed by its PID: kill -9, SIGSTOP/SIGCONT,
 * restart with the same spec, and a stop that is registered in the cleanup registry.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exitWaiters: Array<() => void> = [];
  /** exits records how each process of this name ended (code or signal). */
  readonly exits: string[] = [];
  private paused = false;

  constructor(
    readonly spec: ProcessSpec,
    cleanup: CleanupRegistry,
  ) {
    cleanup.add(`stop ${spec.name}`, () => this.stop());
  }

  /** pid of the running process, or undefined. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** running says whether the process runs (paused counts as running). */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** start spawns the process (it must not be running). */
  start(): ChildProcess {
    if (this.child !== undefined)
      throw new Error(`${this.spec.name} is already running (pid ${String(this.pid)})`);
    const [command, ...args] = this.spec.argv;
    if (command === undefined) throw new Error(`${this.spec.name} has an empty argv`);
    const log = openSync(this.spec.logFile, 'a');
    const child = spawn(command, args, {
      stdio: [
        this.spec.pipeStdin === true ? 'pipe' : 'ignore',
        this.spec.pipeStdout === true ? 'pipe' : log,
        log,
      ],
      env: { ...process.env, ...this.spec.env },
    });
    closeSync(log);
    this.child = child;
    this.paused = false;
    child.on('exit', (code, signal) => {
      this.exits.push(signal ?? `code ${String(code)}`);
      if (this.child === child) this.child = undefined;
      const waiters = this.exitWaiters;
      this.exitWaiters = [];
      for (const w of waiters) w();
    });
    return child;
  }

  /**
   * waitForLine resolves with the first stdout line that `match` accepts (pipeStdout), and rejects
   * when the process exits first or after `timeoutMs`.
   */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const child = this.child;
    const stdout = child?.stdout;
    if (child === undefined || stdout === null || stdout === undefined)
      return Promise.reject(new Error(`${this.spec.name} has no stdout pipe`));
    const lines = createInterface({ input: stdout });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`${this.spec.name}: no ready line within ${timeoutMs} ms (log: ${this.spec.logFile})`),
          ),
        Math.min(timeoutMs, READY_TIMEOUT_MS_MAX),
      );
      lines.on('line', (line) => {
        if (!match(line)) return;
        clearTimeout(timer);
        // Keep draining stdout so the child never blocks on a full pipe.
        lines.removeAllListeners('line');
        lines.on('line', () => undefined);
        resolve(line);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${this.spec.name} exited (${signal ?? `code ${String(code)}`}) before it was ready; see ${this.spec.logFile}`,
          ),
        );
      });
    });
  }

  /** send writes `text` to the process's stdin (pipeStdin); nothing when it is not running. */
  send(text: string): void {
    this.child?.stdin?.write(text);
  }

  /** signal sends `sig` to the process by PID (nothing when it is not running). */
  signal(sig: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    process.kill(pid, sig);
    if (sig === 'SIGSTOP') this.paused = true;
    if (sig === 'SIGCONT') this.paused = false;
  }

  /** kill sends SIGKILL by PID and waits for the exit. */
  async kill(): Promise<void> {
    if (this.child === undefined) return;
    const exited = this.exited();
    this.signal('SIGKILL');
    await exited;
  }

  /** pause stops the process (SIGSTOP); resume continues it (SIGCONT). */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** stop sends SIGTERM (after SIGCONT if paused), then SIGKILL after `graceMs`; idempotent. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.child === undefined) return;
    const exited = this.exited();
    if (this.paused) this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** exited resolves when the current process exits (at once when none runs). */
  exited(): Promise<void> {
    if (this.child === undefined) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }
}
