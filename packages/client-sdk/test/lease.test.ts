import { performance } from 'node:perf_hooks';
import { Lease, isOmniRelayError } from '../src/index';
import type { LeaseEndReason } from '../src/lease';

const TTL_MS = 300;
const SKEW_MS = 100;

/** held makes a Lease confirmed at `confirmedAtMs`, and records how it ends. */
function held(confirmedAtMs: number): { lease: Lease; ended: LeaseEndReason[] } {
  const ended: LeaseEndReason[] = [];
  const lease = new Lease(
    {
      scope: 'l/1',
      candidateId: 'c',
      metadata: '',
      term: 1n,
      fence: 7n,
      ttlMs: TTL_MS,
      deadlineMs: 0,
      grantedAtMs: 0,
      lastRenewedAtMs: 0,
      revision: 7n,
    },
    { raftTerm: 1n, releaseOnResetMs: 0, confirmedAtMs, skewMs: SKEW_MS },
    {
      renew: () => Promise.resolve(),
      resign: () => Promise.resolve(),
      ended: (_lease, reason) => ended.push(reason),
    },
  );
  return { lease, ended };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Lease deadline', () => {
  it('outlives its first deadline when renewals keep coming, and ends at the last one', async () => {
    const start = performance.now();
    const { lease, ended } = held(start);
    // Deadline: confirmed + ttl − skew = start + 200 ms. Renew three times before it.
    for (let i = 1; i <= 3; i++) {
      await sleep(60);
      lease.confirmed(performance.now());
    }
    const lastConfirmed = lease.confirmedAtMs;
    expect(lease.localDeadlineMs).toBe(lastConfirmed + TTL_MS - SKEW_MS);
    // Past the first deadline, the lease still holds.
    await sleep(Math.max(0, start + 200 + 30 - performance.now()));
    expect(lease.signal.aborted).toBe(false);
    expect(ended).toEqual([]);
    // And it ends once the last renewal's deadline passes (bounded wait).
    for (let i = 0; i < 40 && !lease.signal.aborted; i++) await sleep(25);
    expect(lease.signal.aborted).toBe(true);
    expect(performance.now()).toBeGreaterThanOrEqual(lastConfirmed + TTL_MS - SKEW_MS);
    expect(ended).toEqual(['unconfirmed']);
    expect(isOmniRelayError(lease.signal.reason, 'LEASE_LOST')).toBe(true);
  });

  it('ignores a confirmation older than the one it has', () => {
    const now = performance.now();
    const { lease } = held(now);
    lease.confirmed(now - 50);
    expect(lease.confirmedAtMs).toBe(now);
    lease.end('resigned', 'test over');
  });
});
