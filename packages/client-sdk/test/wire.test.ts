import { Lease, expiresAtOf, isOmniRelayError } from '../src/index';
import type { WireEvent, WireLease } from '../src/wire';
import { leadershipEvent, leaseView } from '../src/wire';

const WIRE_LEASE: WireLease = {
  scope: 'shard/orders/1',
  candidateId: 'worker-a',
  sessionId: 's-1',
  metadata: '',
  scopeTerm: '3',
  fenceToken: '18446744073709551615',
  leaseTtlMs: 10_000,
  deadlineMs: '1796383800123',
  lastRenewalStampMs: '1796383790123',
  grantedStampMs: '1796383780000',
  revision: '41',
};

describe('leaseView', () => {
  it('gives a lease the DISC-002 names, with expiresAt as RFC 3339 UTC equal to expiresAtMs', () => {
    const view = leaseView(WIRE_LEASE);
    expect(view).toMatchObject({
      leaderId: 'worker-a',
      scope: 'shard/orders/1',
      term: 3n,
      fenceToken: 18446744073709551615n,
      expiresAt: '2026-12-04T11:30:00.123Z',
      expiresAtMs: 1_796_383_800_123,
      ttlMs: 10_000,
    });
    expect(new Date(view.expiresAt).getTime()).toBe(view.expiresAtMs);
    // The names of earlier releases stay, with the same values.
    expect([view.candidateId, view.fence, view.deadlineMs]).toEqual([
      view.leaderId,
      view.fenceToken,
      view.expiresAtMs,
    ]);
  });

  it('refuses a deadline that is not a time instead of inventing an expiresAt', () => {
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      let caught: unknown;
      try {
        expiresAtOf(bad);
      } catch (e) {
        caught = e;
      }
      expect(isOmniRelayError(caught, 'INTERNAL')).toBe(true);
    }
    expect(() => leaseView({ ...WIRE_LEASE, deadlineMs: 'soon' })).toThrow(/is not a time/);
  });
});

describe('leadershipEvent', () => {
  it('names the previous holder leaderId and fenceToken, keeping candidateId and fence', () => {
    const wire: WireEvent = {
      revision: '42',
      scope: 'shard/orders/1',
      scopeTerm: '4',
      reason: 'HOLDER_CHANGE_REASON_PREEMPTED',
      previousHolder: { candidateId: 'worker-a', fenceToken: '41' },
      holder: { ...WIRE_LEASE, candidateId: 'worker-b', fenceToken: '42', scopeTerm: '4' },
      correlationId: 'c',
      raftTerm: '2',
      proposerId: 'n1',
      stampMs: '1796383790123',
    };
    const e = leadershipEvent(wire);
    expect(e.previous).toEqual({
      leaderId: 'worker-a',
      fenceToken: 41n,
      candidateId: 'worker-a',
      fence: 41n,
    });
    expect(e.holder).toMatchObject({ leaderId: 'worker-b', fenceToken: 42n, term: 4n });
  });
});

describe('Lease', () => {
  it('carries leaderId and fenceToken with the same values as candidateId and fence', () => {
    const lease = new Lease(
      leaseView(WIRE_LEASE),
      { raftTerm: 1n, releaseOnResetMs: 0, confirmedAtMs: undefined, skewMs: 100 },
      { renew: () => Promise.resolve(), resign: () => Promise.resolve(true), ended: () => undefined },
    );
    expect([lease.leaderId, lease.fenceToken]).toEqual(['worker-a', 18446744073709551615n]);
    expect([lease.candidateId, lease.fence]).toEqual([lease.leaderId, lease.fenceToken]);
    lease.end('closed', 'test over');
  });
});
