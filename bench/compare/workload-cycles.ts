/**
 * Workload (a): acquire → release cycles on distinct scopes with `concurrency` loops, through the
 * client that talks to the Raft leader; a warm-up, then a measured window.
 */
import { progress } from '../support/stats';
import { summarizeMs } from './summary';
import type { SampleSummary } from './summary';
import type { Target } from './target';

/** CYCLE_ERRORS_MAX stops a window that keeps failing instead of spinning on errors. */
const CYCLE_ERRORS_MAX = 1000;
/** CYCLES_PER_LOOP_MAX bounds each loop's count (far above what 10 s can reach). */
const CYCLES_PER_LOOP_MAX = 1_000_000;

/** CyclesResult is one window of (a). */
export interface CyclesResult {
  readonly concurrency: number;
  readonly measuredMs: number;
  /** cyclesPerSecond counts cycles that ended inside the measured window. */
  readonly cyclesPerSecond: number;
  readonly errors: number;
  readonly firstError?: string;
  /** acquireMs and releaseMs are the latencies of the cycles that started inside the window. */
  readonly acquireMs: SampleSummary;
  readonly releaseMs: SampleSummary;
}

/** runCycles runs `concurrency` acquire → release loops for warmupMs + measureMs. */
export async function runCycles(
  target: Target,
  options: {
    readonly concurrency: number;
    readonly warmupMs: number;
    readonly measureMs: number;
    readonly ttlMs: number;
    readonly scopePrefix: string;
    readonly report: boolean;
  },
): Promise<CyclesResult> {
  const startAt = performance.now();
  const measureFrom = startAt + options.warmupMs;
  const measureTo = measureFrom + options.measureMs;
  const acquireMs: number[] = [];
  const releaseMs: number[] = [];
  let cycles = 0;
  let errors = 0;
  let firstError: string | undefined;
  let seq = 0;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < CYCLES_PER_LOOP_MAX && performance.now() < measureTo; i++) {
      if (errors > CYCLE_ERRORS_MAX) return;
      const scope = `${options.scopePrefix}/${seq++}`;
      const t0 = performance.now();
      try {
        const held = await target.acquire(scope, options.ttlMs);
        const t1 = performance.now();
        await held.release();
        const t2 = performance.now();
        if (t0 >= measureFrom) {
          acquireMs.push(t1 - t0);
          releaseMs.push(t2 - t1);
        }
        if (t2 >= measureFrom && t2 <= measureTo) cycles++;
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => loop()));
  const result: CyclesResult = {
    concurrency: options.concurrency,
    measuredMs: options.measureMs,
    cyclesPerSecond: cycles / (options.measureMs / 1000),
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    acquireMs: summarizeMs(acquireMs),
    releaseMs: summarizeMs(releaseMs),
  };
  if (options.report) {
    progress(
      `${target.name} (a) c=${options.concurrency}: ${result.cyclesPerSecond.toFixed(0)} cycles/s, acquire p50 ${result.acquireMs.p50.toFixed(2)} ms p99 ${result.acquireMs.p99.toFixed(2)} ms, release p50 ${result.releaseMs.p50.toFixed(2)} ms${errors > 0 ? `, ${errors} errors (${firstError ?? ''})` : ''}`,
    );
  }
  if (errors > CYCLE_ERRORS_MAX)
    throw new Error(`(a) c=${options.concurrency}: too many errors: ${firstError ?? ''}`);
  return result;
}
