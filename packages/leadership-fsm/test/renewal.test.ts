import { LeadershipFsm } from '@omnirelay/leadership-fsm';
import { DeadlineIndex } from '../src/deadline-index';
import { Driver } from './helpers/driver';

/** heldScopes is a driver holding `count` scopes `s/<i>`, granted 10 ms apart with a 1 s TTL. */
function heldScopes(count: number): Driver {
  const d = new Driver();
  for (let i = 0; i < count; i++) {
    d.apply({ type: 'acquire', scope: `s/${i}`, candidateId: 'w', metadata: '', leaseTtlMs: 1000 });
    d.nowMs += 10;
  }
  return d;
}

/** deadlineOrder is every live lease, earliest deadline first, as the leader's expiry sees it. */
function deadlineOrder(fsm: LeadershipFsm): unknown[] {
  return fsm.expiredLeases(Number.MAX_SAFE_INTEGER);
}

describe('applyGrace', () => {
  // A state machine restored from the snapshot builds its deadline index from scratch: the
  // reference for the index a grace left behind.
  it.each([
    ['most leases', 700, 50],
    ['a few leases', 300, 10],
  ])('extends %s, with the deadline order of a fresh index', (_what, extendToMs, extendedCount) => {
    const d = heldScopes(80);
    const tookOfficeStampMs = d.nowMs;
    // Deadlines run from 200 to 990 ms past the last grant: 700 extends 50 of 80 leases, 300 extends 10.
    const result = d.apply({ type: 'grace', tookOfficeStampMs, graceMs: extendToMs });
    expect(result).toMatchObject({ ok: true, outcome: { type: 'grace', extendedCount } });
    const fresh = LeadershipFsm.restore(d.fsm.snapshot());
    expect(deadlineOrder(d.fsm)).toEqual(deadlineOrder(fresh));
    expect(d.fsm.nextDeadline()).toEqual(fresh.nextDeadline());
    // Later renewals and expiries keep working on the index the grace left.
    d.nowMs = tookOfficeStampMs + extendToMs;
    const due = d.fsm.expiredLeases(d.nowMs);
    expect(due.length).toBeGreaterThan(0);
    d.apply({ type: 'expire', leases: due.map(({ scope, fenceToken }) => ({ scope, fenceToken })) });
    expect(d.fsm.expiredLeases(d.nowMs)).toEqual([]);
    expect(deadlineOrder(d.fsm)).toEqual(deadlineOrder(LeadershipFsm.restore(d.fsm.snapshot())));
  });

  it('extends the held leases alike in a live state and in one restored from its snapshot, after scopes fell vacant', () => {
    // A grace walks only the records with a holder: a released, expired or promoted scope must
    // leave or stay in that set exactly as a snapshot restore rebuilds it.
    const d = heldScopes(80);
    for (let i = 0; i < 80; i += 2) {
      const fenceToken = d.fsm.getScope(`s/${i}`)!.holder!.fenceToken;
      d.apply({ type: 'resign', scope: `s/${i}`, fenceToken });
    }
    d.apply({
      type: 'campaign',
      scope: 's/1',
      candidateId: 'next',
      metadata: '',
      leaseTtlMs: 1000,
      priority: 0,
    });
    d.apply({ type: 'resign', scope: 's/1', fenceToken: d.fsm.getScope('s/1')!.holder!.fenceToken });
    expect(d.fsm.getScope('s/1')!.holder!.candidateId).toBe('next');
    expect(d.fsm.stats().leaseCount).toBe(40);
    const restored = new Driver();
    restored.fsm = LeadershipFsm.restore(d.fsm.snapshot());
    restored.index = d.index;
    restored.nowMs = d.nowMs;
    expect(restored.fsm.stats().leaseCount).toBe(40);
    const grace = { type: 'grace', tookOfficeStampMs: d.nowMs, graceMs: 5000 } as const;
    const live = d.apply(grace);
    expect(live).toMatchObject({ ok: true, outcome: { type: 'grace', extendedCount: 40 } });
    expect(restored.apply(grace)).toEqual(live);
    expect(Buffer.from(restored.fsm.snapshot())).toEqual(Buffer.from(d.fsm.snapshot()));
    expect(deadlineOrder(d.fsm)).toHaveLength(40);
    expect(deadlineOrder(restored.fsm)).toEqual(deadlineOrder(d.fsm));
  });

  it('extends every lease without rebuilding the deadline index, which only the leader catches up', () => {
    const d = heldScopes(80);
    const rebuild = jest.spyOn(DeadlineIndex.prototype, 'rebuild');
    try {
      // Every lease extended: a rebuild here ran on every replica (0.4–1.3 s at 100,000 leases).
      const result = d.apply({ type: 'grace', tookOfficeStampMs: d.nowMs, graceMs: 5000 });
      expect(result).toMatchObject({ ok: true, outcome: { type: 'grace', extendedCount: 80 } });
      expect(rebuild).not.toHaveBeenCalled();
    } finally {
      rebuild.mockRestore();
    }
    expect(deadlineOrder(d.fsm)).toEqual(deadlineOrder(LeadershipFsm.restore(d.fsm.snapshot())));
  });
});
