import { Prng } from '../harness/prng';
import type { FaultKind, Scenario } from './schema';

/** PlannedFault is one fault of a run's schedule: when, how long, and the seed of its choices (which node, which worker). */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly atMs: number;
  /** durationMs is 0 for a fault that has no heal (kill-holder, membership-change, transfer-leader, restart-all, wipe-data, clock-skew). */
  readonly durationMs: number;
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly offsetMs: number;
  readonly rate: number;
  /** worker is the worker (w<worker>) a holder or client-clock fault must pick, when the scenario names one. */
  readonly worker: number | undefined;
  readonly choiceSeed: number;
}

/** INSTANT_FAULTS have no heal. */
export const INSTANT_FAULTS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'kill-holder',
  'membership-change',
  'transfer-leader',
  'restart-all',
  'wipe-data',
  'clock-skew',
  'client-clock-jump',
  'drop-connection',
]);

/** stopBeforeWriteWorker is the worker (w1..wN) a stop-before-write fault stops: chosen by its seed. */
export function stopBeforeWriteWorker(f: PlannedFault, workers: number): string {
  return `w${1 + (f.choiceSeed % workers)}`;
}

/** defaultDurationMs is how long a fault lasts when the scenario does not say. */
export function defaultDurationMs(kind: FaultKind, scenario: Scenario): number {
  if (INSTANT_FAULTS.has(kind)) return 0;
  if (kind === 'pause-holder' || kind === 'stop-before-write') return scenario.workload.ttlMs * 2 + 1000;
  if (kind === 'pause-leader') return scenario.electionTimeoutMs * 2 + 1000;
  return 5000;
}

/**
 * planSchedule turns a scenario's faults into a time-ordered schedule, a pure function of
 * (scenario, seed): random faults get their times from the seed, and every fault a seed for the
 * choices made when it fires.
 */
export function planSchedule(scenario: Scenario, seed: number): PlannedFault[] {
  const prng = new Prng(seed);
  const planned: PlannedFault[] = [];
  for (const f of scenario.faults) {
    const times =
      f.random === undefined
        ? [f.at ?? 0]
        : Array.from(
            { length: f.random.count },
            () => f.random!.from + prng.next() * (f.random!.to - f.random!.from),
          );
    for (const at of times) {
      planned.push({
        kind: f.kind,
        atMs: Math.round(at * 1000),
        durationMs: INSTANT_FAULTS.has(f.kind)
          ? 0
          : f.durationS === undefined
            ? defaultDurationMs(f.kind, scenario)
            : Math.round(f.durationS * 1000),
        latencyMs: f.latencyMs ?? 0,
        jitterMs: f.jitterMs ?? 0,
        offsetMs: f.offsetMs ?? 0,
        rate: f.rate ?? 1,
        worker: f.worker,
        choiceSeed: prng.int(0, 0xffffffff),
      });
    }
  }
  return planned.sort((a, b) => a.atMs - b.atMs);
}
