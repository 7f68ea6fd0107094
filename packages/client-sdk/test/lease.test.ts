import { performance } from 'node:perf_hooks';
import { Lease, isOmniRelayError } from '../src/index';
import type { LeaseEndReason, StreamProof } from '../src/lease';

const TTL_MS = 300;
const SKEW_MS = 100;

/** held makes a Lease confirmed at `confirmedAtMs`, and records how it ends. */
function held(
  confirmedAtMs: number,
  releaseOnResetMs = 0,
  ttlMs = TTL_MS,
): { lease: Lease; ended: LeaseEndReason[] } {
  const ended: LeaseEndReason[] = [];
  const lease = new Lease(
    {
      leaderId: 'c',
      scope: 'l/1',
      fenceToken: 7n,
      expiresAt: '1970-01-01T00:00:00.000Z',
      expiresAtMs: 0,
      candidateId: 'c',
      sessionId: 's',
      metadata: '',
      term: 1n,
      fence: 7n,
      ttlMs,
      deadlineMs: 0,
      grantedAtMs: 0,
      lastRenewedAtMs: 0,
      revision: 7n,
    },
    { raftTerm: 1n, releaseOnResetMs, confirmedAtMs, skewMs: SKEW_MS },
    {
      renew: () => Promise.resolve(),
      resign: () => Promise.resolve(true),
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

describe('Lease deadline with releaseOnResetMs', () => {
  const RELEASE_ON_RESET_MS = 200;
  const LONG_TTL_MS = 30_000;

  it('has no release-on-reset bound before it is listed on a KeepAlive stream, or without releaseOnResetMs', () => {
    const now = performance.now();
    const { lease } = held(now, RELEASE_ON_RESET_MS, LONG_TTL_MS);
    expect(lease.resetDeadlineMs).toBe(Number.POSITIVE_INFINITY);
    expect(lease.localDeadlineMs).toBe(now + LONG_TTL_MS - SKEW_MS);
    const plain = held(now, 0, LONG_TTL_MS).lease;
    plain.listed({ provenAtMs: now });
    expect(plain.resetDeadlineMs).toBe(Number.POSITIVE_INFINITY);
    lease.end('resigned', 'test over');
    plain.end('resigned', 'test over');
  });

  it('ends at the proof of its stream + releaseOnResetMs − skew, long before its TTL, when the proof stops moving', async () => {
    const start = performance.now();
    const { lease, ended } = held(start, RELEASE_ON_RESET_MS, LONG_TTL_MS);
    const stream: StreamProof = { provenAtMs: start };
    lease.listed(stream);
    expect(lease.localDeadlineMs).toBe(start + RELEASE_ON_RESET_MS - SKEW_MS);
    // Answers on the stream move the bound on, with no renewal of this lease.
    await sleep(60);
    stream.provenAtMs = performance.now();
    const frozenAt = stream.provenAtMs;
    expect(lease.localDeadlineMs).toBe(frozenAt + RELEASE_ON_RESET_MS - SKEW_MS);
    // The stream fails: its proof stays frozen and the lease ends at the bound (bounded wait).
    for (let i = 0; i < 40 && !lease.signal.aborted; i++) await sleep(10);
    expect(lease.signal.aborted).toBe(true);
    expect(performance.now()).toBeGreaterThanOrEqual(frozenAt + RELEASE_ON_RESET_MS - SKEW_MS);
    expect(ended).toEqual(['unconfirmed']);
    expect((lease.signal.reason as Error).message).toContain('release_on_reset_ms');
    expect(lease.isValid()).toBe(false);
  });

  it('keeps the first stream as its bound until a renewal is confirmed on a later one', () => {
    const now = performance.now();
    const { lease } = held(now, RELEASE_ON_RESET_MS, LONG_TTL_MS);
    const first: StreamProof = { provenAtMs: now - 50 };
    const second: StreamProof = { provenAtMs: now };
    lease.listed(first);
    // Listed on a second stream after the first failed: the first one's timer may still run.
    lease.listed(second);
    expect(lease.provenBy(first)).toBe(true);
    expect(lease.resetDeadlineMs).toBe(first.provenAtMs + RELEASE_ON_RESET_MS - SKEW_MS);
    // A renewal confirmed on the second stream cancelled the first one's timer on the leader.
    lease.confirmed(now, second);
    expect(lease.provenBy(second)).toBe(true);
    expect(lease.localDeadlineMs).toBe(second.provenAtMs + RELEASE_ON_RESET_MS - SKEW_MS);
    lease.end('resigned', 'test over');
  });

  it('is bounded by its TTL when that comes first', () => {
    const now = performance.now();
    const { lease } = held(now - 150, RELEASE_ON_RESET_MS, TTL_MS);
    lease.listed({ provenAtMs: now });
    // TTL bound: now − 150 + 300 − 100 = now + 50; reset bound: now + 200 − 100 = now + 100.
    expect(lease.localDeadlineMs).toBe(now - 150 + TTL_MS - SKEW_MS);
    lease.end('resigned', 'test over');
  });
});
