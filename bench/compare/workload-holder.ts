/**
 * Workload (f): holder failover. A holder process takes a scope (short TTL) and keeps it alive; a
 * second candidate campaigns for the scope; the holder is SIGKILLed; the figure is the time from the
 * kill to the second candidate holding the scope.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { progress } from '../support/stats';
import { stopChild, track } from './children';
import { summarizeMs } from './summary';
import type { SampleSummary } from './summary';
import type { Target } from './target';
import { sleep, withDeadline } from './time';

/** HOLDER_READY_MS_MAX bounds the holder process's start and acquire. */
const HOLDER_READY_MS_MAX = 30_000;
/** ELECTED_MS_MAX bounds the wait for the second candidate after the kill. */
const ELECTED_MS_MAX = 30_000;
/** HOLDER_START_BATCH is how many holder processes start at once. */
const HOLDER_START_BATCH = 5;

/** HolderResult is (f) for one target and one variant in one run. */
export interface HolderResult {
  readonly repetitions: number;
  readonly holderTtlMs: number;
  readonly releaseOnResetMs: number | undefined;
  readonly failoverMs: SampleSummary;
  readonly failures: number;
  readonly firstError?: string;
}

/** startHolder spawns holder-child.ts and resolves once it prints "held". */
async function startHolder(specJson: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, 'holder-child.ts'), specJson],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 4000) stderr += c.toString('utf8');
  });
  const held = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.includes('held\n')) resolve();
    });
    child.once('exit', (code, signal) =>
      reject(
        new Error(`holder exited (${signal ?? `code ${String(code)}`}) before holding: ${stderr.trim()}`),
      ),
    );
  });
  try {
    await withDeadline(held, HOLDER_READY_MS_MAX, 'holder start');
  } catch (e) {
    await stopChild(child, 'SIGKILL');
    throw e;
  }
  return child;
}

/**
 * runHolder measures `repetitions` holder kills for one variant. The holder processes (one per
 * repetition, each on its own scope) are started before the first kill, a few at a time, so that no
 * process start competes with a measured failover for the CPU.
 */
export async function runHolder(
  target: Target,
  options: {
    readonly repetitions: number;
    readonly releaseOnResetMs: number | undefined;
    readonly queueMs: number;
    readonly scopePrefix: string;
  },
): Promise<HolderResult> {
  const samples: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  const label = `${target.name} (f)${options.releaseOnResetMs !== undefined ? ` releaseOnReset=${options.releaseOnResetMs}ms` : ''}`;
  const fail = (rep: number, e: unknown): void => {
    failures++;
    firstError ??= e instanceof Error ? e.message : String(e);
    progress(`${label} rep ${rep + 1}: ${e instanceof Error ? e.message : String(e)}`);
  };
  const holders: Array<ChildProcess | undefined> = [];
  try {
    await target.leader(30_000);
    const spawnedAt = performance.now();
    for (let first = 0; first < options.repetitions; first += HOLDER_START_BATCH) {
      const batch = Array.from(
        { length: Math.min(HOLDER_START_BATCH, options.repetitions - first) },
        (_, k) => first + k,
      );
      const started = await Promise.all(
        batch.map((rep) =>
          startHolder(
            JSON.stringify(target.holderSpec(`${options.scopePrefix}/${rep}`, options.releaseOnResetMs)),
          ).catch((e: unknown) => {
            fail(rep, e);
            return undefined;
          }),
        ),
      );
      holders.push(...started);
    }
    progress(
      `${label}: ${holders.filter((h) => h !== undefined).length} holder processes holding after ${(performance.now() - spawnedAt).toFixed(0)} ms`,
    );
    for (let rep = 0; rep < options.repetitions; rep++) {
      const holder = holders[rep];
      if (holder === undefined) continue;
      const c = target.campaign(`${options.scopePrefix}/${rep}`);
      try {
        // Let the second candidate queue up behind the holder before the kill.
        await sleep(options.queueMs);
        const killedAt = performance.now();
        await stopChild(holder, 'SIGKILL');
        await withDeadline(c.elected, ELECTED_MS_MAX, 'second candidate');
        const ms = performance.now() - killedAt;
        samples.push(ms);
        progress(`${label} rep ${rep + 1}/${options.repetitions}: ${ms.toFixed(1)} ms`);
      } catch (e) {
        fail(rep, e);
      } finally {
        await c.close();
      }
    }
  } finally {
    await Promise.all(holders.map((h) => (h === undefined ? Promise.resolve() : stopChild(h, 'SIGKILL'))));
  }
  return {
    repetitions: options.repetitions,
    holderTtlMs: target.holderTtlMs,
    releaseOnResetMs: options.releaseOnResetMs,
    failoverMs: summarizeMs(samples),
    failures,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
