import type { LeadershipEvent, LeaseView } from '@omnirelay/leadership-fsm';
import { assert } from '@omnirelay/leadership-fsm';

/**
 * LEASES_TRACKED_MAX bounds how many held scopes the ledger mirrors (about 100 bytes each, so
 * at most ~10 MB). Past it, new leases go untracked: the canary and the election histogram
 * then skip those scopes rather than guess, and never report a false alarm.
 */
export const LEASES_TRACKED_MAX = 100_000;

/**
 * VACANCIES_TRACKED_MAX bounds how many vacant scopes the ledger remembers the loss time of;
 * past it the oldest vacancy is forgotten (its next grant is then not observed).
 */
export const VACANCIES_TRACKED_MAX = 100_000;

/**
 * LedgerAnomaly names evidence of two holders at once that the ledger found in the applied log:
 * - `overlap`: an event named a new holder while a different lease of the same scope was still
 *   recorded (a grant into a scope that was not vacant, an expiry before the lease's deadline,
 *   or a release that named another lease than the recorded one);
 * - `fenceRegression`: the new holder's fence is not above the previous holder's fence.
 * Neither can happen while the state machine keeps its invariants: these are canaries.
 */
export type LedgerAnomaly = 'overlap' | 'fenceRegression';

/** LedgerVerdict is what one holder-change event means for the metrics. */
export interface LedgerVerdict {
  /**
   * electionDurationMs is the gap, in entry-stamp milliseconds, between the previous holder's
   * loss and this grant, when this event filled a scope after a loss the ledger knows of;
   * undefined otherwise (see HolderLedger.record).
   */
  readonly electionDurationMs: number | undefined;
  readonly anomalies: readonly LedgerAnomaly[];
}

interface TrackedLease {
  readonly fenceToken: bigint;
  /** deadlineMs mirrors the state machine's: set at grant, moved by renewals and grace. */
  deadlineMs: number;
}

interface Vacancy {
  /** lostAtMs is the entry stamp (or the expired lease's deadline) at which the scope lost its holder. */
  readonly lostAtMs: number;
  /** fenceToken is the fence of the lost lease: the next grant's fence must be above it. */
  readonly fenceToken: bigint;
}

/**
 * HolderLedger mirrors, from the applied results alone, who holds each scope and until when,
 * so that a holder-change event can be checked against the lease it replaces and the time a
 * scope stayed leaderless can be measured. It is pure: it sees entry stamps, never a clock, so
 * every replica computes the same values from the same log.
 *
 * The mirror is exact while a scope is tracked: the state machine changes a holder only with an
 * event, and a deadline only with a grant (event), a renewal (renew outcome) or a grace (grace
 * outcome), all of which are fed here. A scope the ledger does not track (over its bound, or
 * held before the ledger was seeded) is skipped, never guessed.
 */
export class HolderLedger {
  private readonly holders = new Map<string, TrackedLease>();
  /** vacancies is in insertion order, oldest first, so the oldest is evicted at the bound. */
  private readonly vacancies = new Map<string, Vacancy>();

  constructor(
    private readonly leasesTrackedMax: number = LEASES_TRACKED_MAX,
    private readonly vacanciesTrackedMax: number = VACANCIES_TRACKED_MAX,
  ) {
    assert(
      Number.isSafeInteger(leasesTrackedMax) && leasesTrackedMax >= 1,
      () => `leasesTrackedMax(${leasesTrackedMax}) must be a positive integer`,
    );
    assert(
      Number.isSafeInteger(vacanciesTrackedMax) && vacanciesTrackedMax >= 1,
      () => `vacanciesTrackedMax(${vacanciesTrackedMax}) must be a positive integer`,
    );
  }

  /** trackedLeaseCount is how many held scopes are mirrored (≤ leasesTrackedMax). */
  get trackedLeaseCount(): number {
    return this.holders.size;
  }

  /** trackedVacancyCount is how many vacant scopes have a known loss time (≤ vacanciesTrackedMax). */
  get trackedVacancyCount(): number {
    return this.vacancies.size;
  }

  /**
   * reset replaces the mirror with `holders` (the state after a snapshot restore, or at start):
   * vacancies from before are unknown and forgotten. Leases past the bound are left untracked.
   */
  reset(holders: Iterable<LeaseView>): void {
    this.holders.clear();
    this.vacancies.clear();
    this.track(holders);
  }

  /**
   * track adds (or replaces) `holders`, as the state holds them now, to the mirror; leases past
   * the bound are left untracked. A reseed can thus go a page at a time after `reset([])`: a
   * scope whose event came before its page is read from the state that event left.
   */
  track(holders: Iterable<LeaseView>): void {
    for (const lease of holders) {
      if (this.holders.size >= this.leasesTrackedMax) break;
      this.holders.set(lease.scope, { fenceToken: lease.fenceToken, deadlineMs: lease.deadlineMs });
    }
  }

  /** renewed moves a tracked lease's deadline after a successful renewal of that exact fence. */
  renewed(scope: string, fenceToken: bigint, deadlineMs: number): void {
    const lease = this.holders.get(scope);
    if (lease !== undefined && lease.fenceToken === fenceToken) lease.deadlineMs = deadlineMs;
  }

  /** graced applies a grace entry: every held lease's deadline becomes at least `graceDeadlineMs`. */
  graced(graceDeadlineMs: number): void {
    for (const lease of this.holders.values()) {
      if (lease.deadlineMs < graceDeadlineMs) lease.deadlineMs = graceDeadlineMs;
    }
  }

  /**
   * record applies one holder-change event to the mirror and returns what it means.
   *
   * The previous holder's loss time is the event's stamp for `resigned` and `steppedDown`, and
   * the lease's deadline for `expired` (the holder stopped being protected at its deadline, not
   * when the leader got round to expiring it). `electionDurationMs` is then measured to this
   * event's stamp when the event names a new holder: 0 when a waiter was promoted in the same
   * entry as a resignation, the detection delay after an expiry, or the whole vacancy when a
   * `granted` event fills a scope that fell vacant earlier. A `preempted` handover is not an
   * election and a first grant of a never-held scope has no loss: neither is measured.
   */
  record(e: LeadershipEvent): LedgerVerdict {
    const stampMs = e.stampMs;
    const tracked = this.holders.get(e.scope);
    const releases = e.reason !== 'granted' && e.previousHolder !== null;
    // endsTracked: this event ends exactly the lease the mirror holds for the scope.
    const endsTracked =
      releases && tracked !== undefined && e.previousHolder.fenceToken === tracked.fenceToken;
    let lostAtMs: number | undefined;
    if (releases && e.reason !== 'preempted') {
      if (e.reason !== 'expired') lostAtMs = stampMs;
      else if (endsTracked) lostAtMs = Math.min(tracked.deadlineMs, stampMs);
    }

    if (e.holder === null) {
      this.holders.delete(e.scope);
      this.vacancies.delete(e.scope);
      if (lostAtMs !== undefined && e.previousHolder !== null) {
        this.vacancies.set(e.scope, { lostAtMs, fenceToken: e.previousHolder.fenceToken });
        if (this.vacancies.size > this.vacanciesTrackedMax) {
          const oldest = this.vacancies.keys().next();
          if (oldest.done !== true) this.vacancies.delete(oldest.value);
        }
      }
      return { electionDurationMs: undefined, anomalies: [] };
    }

    const anomalies: LedgerAnomaly[] = [];
    const vacancy = this.vacancies.get(e.scope);
    const fence = e.holder.fenceToken;
    // Two leases at once: a recorded lease with another fence that this event did not end, or
    // ended by an expiry stamped before its deadline (it was still live).
    if (
      tracked !== undefined &&
      tracked.fenceToken !== fence &&
      (!endsTracked || (e.reason === 'expired' && tracked.deadlineMs > stampMs))
    ) {
      anomalies.push('overlap');
    }
    if (e.reason === 'granted' && e.previousHolder !== null) anomalies.push('overlap');
    const previousFence = e.previousHolder?.fenceToken ?? tracked?.fenceToken ?? vacancy?.fenceToken;
    if (previousFence !== undefined && fence <= previousFence) anomalies.push('fenceRegression');

    let electionDurationMs: number | undefined;
    if (e.reason === 'granted') {
      if (vacancy !== undefined) electionDurationMs = Math.max(0, stampMs - vacancy.lostAtMs);
    } else if (lostAtMs !== undefined) {
      electionDurationMs = Math.max(0, stampMs - lostAtMs);
    }

    this.vacancies.delete(e.scope);
    if (tracked !== undefined || this.holders.size < this.leasesTrackedMax) {
      this.holders.set(e.scope, { fenceToken: fence, deadlineMs: e.holder.deadlineMs });
    }
    return { electionDurationMs, anomalies: [...new Set(anomalies)] };
  }
}
