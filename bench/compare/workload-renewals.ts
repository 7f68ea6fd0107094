/**
 * Workload (b): hold `leases` scopes (long TTL), then renew them round-robin with `inflight`
 * renewals outstanding for a measured window.
 */
import { progress } from '../support/stats';
import { summarizeMs } from './summary';
import type { SampleSummary } from './summary';
import type { HeldScope, Target } from './target';

/** RENEW_SETUP_MS_MAX bounds how long acquiring the held scopes may take. */
const RENEW_SETUP_MS_MAX = 180_000;
/** RENEW_ERRORS_MAX stops the window when renewals keep failing. */
const RENEW_ERRORS_MAX = 1000;
/** SETUP_CONCURRENCY is how many acquires are in flight while the leases are set up. */
const SETUP_CONCURRENCY = 128;

/** RenewalsResult is (b) for one target in one run. */
export interface RenewalsResult {
  readonly leases: number;
  readonly inflight: number;
  readonly setupMs: number;
  readonly measuredMs: number;
  readonly renewalsPerSecond: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly renewMs: SampleSummary;
}

/** runRenewals acquires the leases, then measures round-robin renewals. */
export async function runRenewals(
  target: Target,
  options: {
    readonly leases: number;
    readonly ttlMs: number;
    readonly inflight: number;
    readonly measureMs: number;
    readonly scopePrefix: string;
  },
): Promise<RenewalsResult> {
  const setupStart = performance.now();
  const setupDeadline = setupStart + RENEW_SETUP_MS_MAX;
  const held: HeldScope[] = [];
  let next = 0;
  const acquireLoop = async (): Promise<void> => {
    while (next < options.leases) {
      if (performance.now() > setupDeadline) {
        throw new Error(`(b) acquiring ${options.leases} leases took over ${RENEW_SETUP_MS_MAX} ms`);
      }
      const i = next++;
      held.push(await target.acquire(`${options.scopePrefix}/${i}`, options.ttlMs));
    }
  };
  await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, () => acquireLoop()));
  const setupMs = performance.now() - setupStart;
  progress(`${target.name} (b) holding ${held.length} leases (set up in ${(setupMs / 1000).toFixed(1)} s)`);

  const renewMs: number[] = [];
  let renewals = 0;
  let errors = 0;
  let firstError: string | undefined;
  let cursor = 0;
  const from = performance.now();
  const to = from + options.measureMs;
  const renewLoop = async (): Promise<void> => {
    while (performance.now() < to && errors <= RENEW_ERRORS_MAX) {
      const h = held[cursor++ % held.length]!;
      const t0 = performance.now();
      try {
        await h.renew();
        const t1 = performance.now();
        if (t1 <= to) {
          renewals++;
          renewMs.push(t1 - t0);
        }
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: options.inflight }, () => renewLoop()));
  const result: RenewalsResult = {
    leases: held.length,
    inflight: options.inflight,
    setupMs,
    measuredMs: options.measureMs,
    renewalsPerSecond: renewals / (options.measureMs / 1000),
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    renewMs: summarizeMs(renewMs),
  };
  progress(
    `${target.name} (b) ${result.renewalsPerSecond.toFixed(0)} renewals/s, p50 ${result.renewMs.p50.toFixed(2)} ms p99 ${result.renewMs.p99.toFixed(2)} ms${errors > 0 ? `, ${errors} errors (${firstError ?? ''})` : ''}`,
  );
  if (errors > RENEW_ERRORS_MAX) throw new Error(`(b) too many renewal errors: ${firstError ?? ''}`);
  return result;
}
