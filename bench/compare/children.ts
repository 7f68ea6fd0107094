/**
 * The registry of every process the compare bench starts (etcd members, holder children; the
 * OmniRelay nodes are registered through their LocalCluster), so that each one is stopped by PID
 * even when the bench fails or is interrupted.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** STOP_GRACE_MS_MAX bounds how long a stop waits after SIGTERM before it sends SIGKILL. */
export const STOP_GRACE_MS_MAX = 5000;

const live = new Set<ChildProcess>();
const pidSources = new Set<() => readonly number[]>();
/** scratchDirs are the folders made by makeScratchDir and not removed yet. */
const scratchDirs = new Set<string>();
let installed = false;

/**
 * installExitHandler kills (SIGKILL, by PID) every registered child when this process exits for
 * any reason, then removes every scratch folder not removed yet.
 */
export function installExitHandler(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const pid of allPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    // After the kills: a node's store is in its folder. Retries cover a process still dying.
    for (const dir of scratchDirs) removeDir(dir);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`[bench] ${signal}: killing every child by PID\n`);
      process.exit(130);
    });
  }
}

function allPids(): number[] {
  const pids: number[] = [];
  for (const c of live)
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) pids.push(c.pid);
  for (const source of pidSources) pids.push(...source());
  return pids;
}

/** track registers a child until it exits. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** trackPids registers a function that lists more PIDs to kill at exit (e.g. a LocalCluster's nodes); returns an untrack function. */
export function trackPids(source: () => readonly number[]): () => void {
  pidSources.add(source);
  return () => pidSources.delete(source);
}

/** ScratchDir is a folder a bench made for one cluster or run. */
export interface ScratchDir {
  readonly path: string;
  /** remove deletes the folder now (idempotent); the exit handler no longer has to. */
  remove(): void;
}

/**
 * makeScratchDir makes a fresh folder under the system's temp folder, named `prefix` + a random
 * tail, that is removed when the bench is done with it or, at the latest, when it exits: an
 * interrupted or failed bench leaves no cluster data behind (installExitHandler).
 */
export function makeScratchDir(prefix: string): ScratchDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.add(path);
  return {
    path,
    remove: () => {
      scratchDirs.delete(path);
      removeDir(path);
    },
  };
}

function removeDir(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    process.stderr.write(`[bench] could not remove ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

/** hasExited tells whether a child has already exited. */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * stopChild sends `signal` to the child by PID and waits for it to exit; after SIGTERM it sends
 * SIGKILL if the child is still running after `graceMs`.
 */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = STOP_GRACE_MS_MAX,
): Promise<void> {
  if (child.pid === undefined || hasExited(child)) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, signal);
  if (signal === 'SIGKILL') {
    await exited;
    return;
  }
  const timer = setTimeout(() => {
    if (child.pid !== undefined && !hasExited(child)) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}
