import type { HolderChangeReason, HolderRef, LeadershipEvent, LeaseView } from '@omnirelay/leadership-fsm';
import { isInvariantViolation } from '@omnirelay/leadership-fsm';
import { HolderLedger } from '../../src/metrics/holder-ledger';

function lease(scope: string, candidateId: string, fenceToken: bigint, deadlineMs: number): LeaseView {
  return {
    scope,
    candidateId,
    sessionId: '',
    metadata: '',
    scopeTerm: 1,
    fenceToken,
    leaseTtlMs: 1000,
    deadlineMs,
    lastRenewalStampMs: deadlineMs - 1000,
    grantedStampMs: deadlineMs - 1000,
    revision: Number(fenceToken),
  };
}

function event(
  reason: HolderChangeReason,
  stampMs: number,
  previousHolder: HolderRef | null,
  holder: LeaseView | null,
  scope = 's',
): LeadershipEvent {
  return {
    revision: Number(holder?.fenceToken ?? 0n) || stampMs,
    scope,
    scopeTerm: 1,
    reason,
    previousHolder,
    holder,
    correlationId: 'c',
    raftTerm: 1,
    proposerId: 'n1',
    stampMs,
    principal: '',
  };
}

const ref = (candidateId: string, fenceToken: bigint): HolderRef => ({ candidateId, fenceToken });

describe('HolderLedger', () => {
  it('does not measure the first grant of a never-held scope', () => {
    const ledger = new HolderLedger();
    expect(ledger.record(event('granted', 100, null, lease('s', 'a', 1n, 1100)))).toEqual({
      electionDurationMs: undefined,
      anomalies: [],
    });
  });

  it('measures a vacancy from the resignation to the next grant, in entry-stamp milliseconds', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 100, null, lease('s', 'a', 1n, 1100)));
    expect(ledger.record(event('resigned', 200, ref('a', 1n), null)).electionDurationMs).toBeUndefined();
    expect(ledger.trackedVacancyCount).toBe(1);
    expect(ledger.record(event('granted', 450, null, lease('s', 'b', 3n, 1450)))).toEqual({
      electionDurationMs: 250,
      anomalies: [],
    });
    expect(ledger.trackedVacancyCount).toBe(0);
  });

  it('measures 0 when a waiter is promoted in the resignation entry', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 100, null, lease('s', 'a', 1n, 1100)));
    expect(ledger.record(event('resigned', 300, ref('a', 1n), lease('s', 'b', 4n, 1300)))).toEqual({
      electionDurationMs: 0,
      anomalies: [],
    });
  });

  it('measures an expiry from the renewed lease deadline, not from the expire entry', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 0, null, lease('s', 'a', 1n, 1000)));
    ledger.renewed('s', 1n, 1500);
    ledger.renewed('s', 9n, 9000); // another fence: not this lease
    expect(ledger.record(event('expired', 1800, ref('a', 1n), lease('s', 'b', 5n, 2800)))).toEqual({
      electionDurationMs: 300,
      anomalies: [],
    });
  });

  it('does not measure a preemption, which is a handover and not an election', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 0, null, lease('s', 'a', 1n, 1000)));
    expect(ledger.record(event('preempted', 10, ref('a', 1n), lease('s', 'b', 2n, 1010)))).toEqual({
      electionDurationMs: undefined,
      anomalies: [],
    });
  });

  it('reports an overlap when a grant lands on a scope whose lease is still recorded', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 0, null, lease('s', 'a', 1n, 1000)));
    expect(ledger.record(event('granted', 10, null, lease('s', 'b', 2n, 1010))).anomalies).toEqual([
      'overlap',
    ]);
  });

  it('reports an overlap when a lease is expired before its grace-extended deadline', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 0, null, lease('s', 'a', 1n, 1000)));
    ledger.graced(3000);
    expect(ledger.record(event('expired', 2000, ref('a', 1n), lease('s', 'b', 2n, 3000))).anomalies).toEqual([
      'overlap',
    ]);
  });

  it('reports an overlap when a release names another lease than the recorded one', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 0, null, lease('s', 'a', 5n, 1000)));
    expect(ledger.record(event('resigned', 10, ref('x', 4n), lease('s', 'b', 6n, 1010))).anomalies).toEqual([
      'overlap',
    ]);
  });

  it('reports a new fence that is not above the previous holder’s', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 0, null, lease('s', 'a', 7n, 1000)));
    expect(ledger.record(event('resigned', 10, ref('a', 7n), lease('s', 'b', 7n, 1010))).anomalies).toEqual([
      'fenceRegression',
    ]);
  });

  it('reports a fence regression across a vacancy', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 0, null, lease('s', 'a', 7n, 1000)));
    ledger.record(event('resigned', 10, ref('a', 7n), null));
    expect(ledger.record(event('granted', 20, null, lease('s', 'b', 3n, 1020))).anomalies).toEqual([
      'fenceRegression',
    ]);
  });

  it('keeps at most leasesTrackedMax leases and skips the untracked ones instead of guessing', () => {
    const ledger = new HolderLedger(2, 2);
    for (const [i, scope] of ['a', 'b', 'c'].entries()) {
      ledger.record(event('granted', i, null, lease(scope, 'x', BigInt(i + 1), 1000), scope));
    }
    expect(ledger.trackedLeaseCount).toBe(2);
    // 'c' is not tracked: a grant over it cannot be checked, so it is not reported.
    expect(ledger.record(event('granted', 5, null, lease('c', 'y', 9n, 1005), 'c')).anomalies).toEqual([]);
  });

  it('forgets the oldest vacancy past vacanciesTrackedMax', () => {
    const ledger = new HolderLedger(10, 2);
    for (const [i, scope] of ['a', 'b', 'c'].entries()) {
      ledger.record(event('granted', i, null, lease(scope, 'x', BigInt(i + 1), 1000), scope));
    }
    for (const [i, scope] of ['a', 'b', 'c'].entries()) {
      ledger.record(event('resigned', 10 + i, ref('x', BigInt(i + 1)), null, scope));
    }
    expect(ledger.trackedVacancyCount).toBe(2);
    expect(ledger.record(event('granted', 50, null, lease('a', 'y', 9n, 1050), 'a')).electionDurationMs).toBe(
      undefined,
    );
    expect(
      ledger.record(event('granted', 50, null, lease('c', 'y', 10n, 1050), 'c')).electionDurationMs,
    ).toBe(38);
  });

  it('replaces the mirror and forgets vacancies on reset', () => {
    const ledger = new HolderLedger();
    ledger.record(event('granted', 0, null, lease('v', 'a', 1n, 1000), 'v'));
    ledger.record(event('resigned', 10, ref('a', 1n), null, 'v'));
    ledger.reset([lease('s', 'a', 4n, 1000)]);
    expect(ledger.trackedLeaseCount).toBe(1);
    expect(ledger.trackedVacancyCount).toBe(0);
    expect(ledger.record(event('granted', 20, null, lease('s', 'b', 5n, 1020))).anomalies).toEqual([
      'overlap',
    ]);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect.assertions(2);
    for (const bounds of [
      [0, 1],
      [1, 1.5],
    ] as const) {
      try {
        new HolderLedger(bounds[0], bounds[1]);
      } catch (e) {
        expect(isInvariantViolation(e)).toBe(true);
      }
    }
  });
});
