import { ChaosError } from '../errors';
import type { OperationFunction, TimelineRecord } from '../history';
import type { Operation } from '../operations';
import { compareBigint } from '../operations';
import type { CheckResult } from '../verdict';
import { resultOf } from '../verdict';

/**
 * FaultWindow is one fault from the timeline: it starts at `startNs` and ends at the first
 * later `heal` record with the same fault name and target (`endNs` null: never healed, or a
 * one-shot fault such as a kill).
 */
export interface FaultWindow {
  readonly fault: string;
  readonly target: string | undefined;
  readonly scopes: readonly string[];
  readonly startNs: bigint;
  readonly endNs: bigint | null;
  readonly source: string;
}

/** faultWindows pairs the timeline's `fault` records with their `heal` records, in start order. */
export function faultWindows(timeline: readonly TimelineRecord[]): FaultWindow[] {
  const windows: FaultWindow[] = [];
  const open: { window: FaultWindow; index: number }[] = [];
  for (const record of timeline) {
    if (record.kind === 'fault') {
      const window = {
        fault: record.fault,
        target: record.target,
        scopes: record.scopes,
        startNs: record.timeNs,
        endNs: null,
        source: record.source,
      };
      open.push({ window, index: windows.length });
      windows.push(window);
    } else if (record.kind === 'heal') {
      const at = open.findIndex((o) => o.window.fault === record.fault && o.window.target === record.target);
      if (at < 0) {
        throw new ChaosError(
          'INVALID_HISTORY',
          `heal of ${record.fault}${record.target === undefined ? '' : ` on ${record.target}`} with no such fault open`,
          record.source,
        );
      }
      const [{ window, index }] = open.splice(at, 1) as [{ window: FaultWindow; index: number }];
      windows[index] = { ...window, endNs: record.timeNs };
    }
  }
  return windows.sort((a, b) => compareBigint(a.startNs, b.startNs));
}

/** CLUSTER_WRITES are the calls whose success proves the cluster commits again. */
export const CLUSTER_WRITES: readonly OperationFunction[] = ['acquire', 'campaign', 'renew', 'resign'];

function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}

function isGrant(op: Operation): boolean {
  return (op.f === 'acquire' && op.output.granted === true) || op.f === 'campaign';
}

/**
 * firstSuccessMs is the time from `fromNs` to the first `ok` answer after it of an operation
 * that passes `accept` — null when there is none. With `invokedAfter`, only operations invoked
 * at or after `fromNs` count (an earlier call may have been decided before the fault).
 */
export function firstSuccessMs(
  fromNs: bigint,
  operations: readonly Operation[],
  accept: (op: Operation) => boolean,
  invokedAfter = true,
): number | null {
  let first: bigint | null = null;
  for (const op of operations) {
    if (op.status !== 'ok' || op.completeNs === null || op.completeNs < fromNs || !accept(op)) continue;
    if (invokedAfter && op.invokeNs < fromNs) continue;
    if (first === null || op.completeNs < first) first = op.completeNs;
  }
  return first === null ? null : nsToMs(first - fromNs);
}

/**
 * failoverMs is crash or partition failover: from the fault to the first successful cluster
 * write (CLUSTER_WRITES) invoked after it — the moment a new Raft leader commits again.
 */
export function failoverMs(fault: FaultWindow, operations: readonly Operation[]): number | null {
  return firstSuccessMs(fault.startNs, operations, (op) => CLUSTER_WRITES.includes(op.f));
}

/**
 * regrantMs is re-grant after a holder dies: from the fault to the first grant answered after
 * it, in one of the fault's scopes, to a candidate other than the fault's target (the dead
 * holder). A campaign that was already waiting counts: that is how a successor takes over.
 */
export function regrantMs(fault: FaultWindow, operations: readonly Operation[]): number | null {
  return firstSuccessMs(
    fault.startNs,
    operations,
    (op) => isGrant(op) && fault.scopes.includes(op.scope) && op.input.candidate !== fault.target,
    false,
  );
}

/** regrantBoundMs is the re-grant bound the issue sets: TTL + election timeout + margin. */
export function regrantBoundMs(bound: {
  ttlMs: number;
  electionTimeoutMs: number;
  marginMs: number;
}): number {
  return bound.ttlMs + bound.electionTimeoutMs + bound.marginMs;
}

/**
 * availability is the share of operations invoked while the fault ran (until the end of the
 * history when it never healed) that answered `ok`; null when none was invoked. A `fail` or an
 * unknown outcome counts as unavailable.
 */
export function availability(
  fault: FaultWindow,
  operations: readonly Operation[],
  functions: readonly OperationFunction[] = CLUSTER_WRITES,
): number | null {
  let total = 0;
  let ok = 0;
  for (const op of operations) {
    if (!functions.includes(op.f) || op.invokeNs < fault.startNs) continue;
    if (fault.endNs !== null && op.invokeNs > fault.endNs) continue;
    total++;
    if (op.status === 'ok') ok++;
  }
  return total === 0 ? null : ok / total;
}

/** recoveryMs is the time from the heal to the first successful cluster write invoked after it. */
export function recoveryMs(fault: FaultWindow, operations: readonly Operation[]): number | null {
  if (fault.endNs === null) return null;
  return firstSuccessMs(fault.endNs, operations, (op) => CLUSTER_WRITES.includes(op.f));
}

/** SloFigures are the figures of one fault window. */
export interface SloFigures {
  readonly fault: string;
  readonly target: string | undefined;
  readonly source: string;
  readonly failoverMs: number | null;
  readonly regrantMs: number | null;
  readonly availability: number | null;
  readonly recoveryMs: number | null;
  /** noHolder: a holder fault found no worker holding a lease, so re-grant could not be measured. */
  readonly noHolder?: true;
}

/** HOLDER_FAULTS are the faults aimed at a lease holder, whose re-grant is measured. */
const HOLDER_FAULTS: readonly string[] = ['kill-holder', 'pause-holder'];

/** sloFigures computes every figure for every fault window of the run. */
export function sloFigures(windows: readonly FaultWindow[], operations: readonly Operation[]): SloFigures[] {
  return windows.map((fault) => ({
    fault: fault.fault,
    target: fault.target,
    source: fault.source,
    failoverMs: failoverMs(fault, operations),
    regrantMs: fault.scopes.length === 0 ? null : regrantMs(fault, operations),
    availability: availability(fault, operations),
    recoveryMs: recoveryMs(fault, operations),
    ...(HOLDER_FAULTS.includes(fault.fault) && fault.scopes.length === 0 ? { noHolder: true as const } : {}),
  }));
}

/**
 * SloExpectation bounds the figures of the faults named `fault`; an absent bound is not checked.
 * A bounded figure that never happened (no success after the fault) fails its bound.
 */
export interface SloExpectation {
  readonly fault: string;
  readonly failoverMsMax?: number;
  readonly regrantMsMax?: number;
  readonly availabilityMin?: number;
  readonly recoveryMsMax?: number;
}

function exceeds(figure: number | null, bound: number | undefined, kind: 'max' | 'min'): boolean {
  if (bound === undefined) return false;
  if (figure === null) return true;
  return kind === 'max' ? figure > bound : figure < bound;
}

/** checkSlos checks each fault window's figures against the expectations for its fault. */
export function checkSlos(
  figures: readonly SloFigures[],
  expectations: readonly SloExpectation[],
): CheckResult {
  const violations: string[] = [];
  for (const figure of figures) {
    for (const expected of expectations.filter((e) => e.fault === figure.fault)) {
      const checks: [string, number | null, number | undefined, 'max' | 'min'][] = [
        ['failover', figure.failoverMs, expected.failoverMsMax, 'max'],
        ['re-grant', figure.regrantMs, expected.regrantMsMax, 'max'],
        ['availability', figure.availability, expected.availabilityMin, 'min'],
        ['recovery', figure.recoveryMs, expected.recoveryMsMax, 'max'],
      ];
      for (const [name, value, bound, kind] of checks) {
        if (!exceeds(value, bound, kind)) continue;
        const unit = name === 'availability' ? '' : ' ms';
        // A holder fault that found nobody holding did not test re-grant: say so, not "never".
        const never =
          name === 're-grant' && figure.noHolder === true
            ? 'was not measured: the fault found no worker holding a lease (give the workload time to acquire before it)'
            : 'never happened';
        violations.push(
          `${figure.source}: ${figure.fault}${figure.target === undefined ? '' : ` on ${figure.target}`}: ${name} ${value === null ? never : `was ${value}${unit}`}, expected ${kind === 'max' ? 'at most' : 'at least'} ${bound}${unit}`,
        );
      }
    }
  }
  return resultOf('slo', violations);
}
