import { assert } from '@omnirelay/leadership-fsm';

/** SCOPE_CHURN_WINDOW_MS is the trailing window omnirelay_scope_holder_changes_max counts over: 5 minutes. */
export const SCOPE_CHURN_WINDOW_MS = 5 * 60_000;

/**
 * SCOPE_CHURN_SCOPES_TRACKED_MAX bounds how many scopes with a holder change in the window are
 * remembered. Past it, changes of scopes not yet tracked are not counted until older ones leave
 * the window: the gauge can then only read low, never name a flap that did not happen.
 */
export const SCOPE_CHURN_SCOPES_TRACKED_MAX = 10_000;

/**
 * SCOPE_CHURN_CHANGES_PER_SCOPE_MAX bounds the change times kept per scope: a scope that changed
 * holder more often in the window counts as this many. Far above any alert threshold, so a
 * saturated count still fires the alert, and memory stays under ~6 MB at the scope bound.
 */
export const SCOPE_CHURN_CHANGES_PER_SCOPE_MAX = 64;

/**
 * ScopeChurn counts, per scope, the holder changes of the last `windowMs` and answers the largest
 * count, with no per-scope output: the gauge it feeds has no label, so a cluster with a million
 * scopes still exports one series. Which scope it is, an operator reads from the audit events or
 * from ListLeaders (each holder's `term` counts that scope's holder changes).
 *
 * It is pure: the caller passes the time of each change and of each reading (a monotonic clock),
 * so tests drive it without waiting. Memory is bounded by scopesTrackedMax × changesPerScopeMax.
 */
export class ScopeChurn {
  /** changes maps a scope to the times of its holder changes in the window, oldest first. */
  private readonly changes = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number = SCOPE_CHURN_WINDOW_MS,
    private readonly scopesTrackedMax: number = SCOPE_CHURN_SCOPES_TRACKED_MAX,
    private readonly changesPerScopeMax: number = SCOPE_CHURN_CHANGES_PER_SCOPE_MAX,
  ) {
    for (const [name, value] of [
      ['windowMs', windowMs],
      ['scopesTrackedMax', scopesTrackedMax],
      ['changesPerScopeMax', changesPerScopeMax],
    ] as const) {
      assert(Number.isSafeInteger(value) && value >= 1, () => `${name}(${value}) must be a positive integer`);
    }
  }

  /** trackedScopeCount is how many scopes have a change remembered (≤ scopesTrackedMax). */
  get trackedScopeCount(): number {
    return this.changes.size;
  }

  /** record notes one holder change of `scope` at `nowMs`; a scope over the bound is skipped. */
  record(scope: string, nowMs: number): void {
    let times = this.changes.get(scope);
    if (times === undefined) {
      if (this.changes.size >= this.scopesTrackedMax) return;
      times = [];
      this.changes.set(scope, times);
    }
    times.push(nowMs);
    if (times.length > this.changesPerScopeMax) times.shift();
  }

  /**
   * maxChanges forgets the changes older than the window ending at `nowMs` (and the scopes left
   * with none) and returns the largest number of changes one scope had in it; 0 when none did.
   */
  maxChanges(nowMs: number): number {
    const oldestMs = nowMs - this.windowMs;
    let max = 0;
    for (const [scope, times] of this.changes) {
      let expired = 0;
      while (expired < times.length && times[expired]! <= oldestMs) expired++;
      if (expired === times.length) {
        this.changes.delete(scope);
        continue;
      }
      if (expired > 0) times.splice(0, expired);
      if (times.length > max) max = times.length;
    }
    return max;
  }
}
