import type { InvariantViolation } from '@omnirelay/leadership-fsm';
import { LeadershipFsm, encodeCommand, isInvariantViolation } from '@omnirelay/leadership-fsm';
import { Buffer } from 'node:buffer';
import { Driver, noopTwinSnapshot } from './helpers/driver';

const ttl = 1_000;

describe('LeadershipFsm', () => {
  it('grants a vacant scope with the entry index as fence and stamp + ttl as deadline', () => {
    const d = new Driver();
    d.noop();
    const result = d.apply({
      type: 'acquire',
      scope: 'global-control',
      candidateId: 'a',
      metadata: 'm',
      leaseTtlMs: ttl,
    });
    expect(result.ok && result.outcome).toMatchObject({
      type: 'acquire',
      granted: true,
      lease: { candidateId: 'a', fenceToken: 2n, scopeTerm: 1, deadlineMs: d.nowMs + ttl, revision: 2 },
    });
    expect(d.fsm.validateFence('global-control', 2n)).toBe(true);
    expect(d.fsm.stats()).toMatchObject({
      scopeCount: 1,
      leaseCount: 1,
      waitingCount: 0,
      lastAppliedIndex: 2,
    });
  });

  it('answers who holds a scope instead of granting it twice', () => {
    const d = new Driver();
    d.apply({ type: 'acquire', scope: 'shard/ns/1', candidateId: 'a', metadata: '', leaseTtlMs: ttl });
    const result = d.apply({
      type: 'acquire',
      scope: 'shard/ns/1',
      candidateId: 'b',
      metadata: '',
      leaseTtlMs: ttl,
    });
    expect(result.ok && result.outcome).toMatchObject({
      granted: false,
      holder: { candidateId: 'a', fenceToken: 1n },
    });
    expect(result.events).toEqual([]);
  });

  it('gives a retried acquire by the holder in its session its current lease unchanged', () => {
    const d = new Driver();
    d.acquireIn('x', 'a', 's1', ttl);
    const result = d.apply({
      type: 'acquire',
      scope: 'x',
      candidateId: 'a',
      sessionId: 's1',
      metadata: 'other',
      leaseTtlMs: 2 * ttl,
    });
    expect(result.ok && result.outcome).toMatchObject({
      granted: true,
      alreadyHolder: true,
      lease: { fenceToken: 1n, metadata: '', sessionId: 's1' },
    });
    expect(result.events).toEqual([]);
  });

  it('refuses the same candidate id in another session, by acquire and campaign, and changes nothing', () => {
    const d = new Driver();
    d.acquireIn('x', 'a', 's1', ttl);
    const others = [
      { type: 'acquire', sessionId: 's2' },
      { type: 'acquire' },
      { type: 'campaign', sessionId: 's2', priority: 0 },
    ] as const;
    for (const other of others) {
      const before = d.fsm.snapshot();
      const result = d.apply({ scope: 'x', candidateId: 'a', metadata: '', leaseTtlMs: ttl, ...other });
      expect(result).toMatchObject({
        ok: false,
        error: { code: 'HELD_BY_OTHER_SESSION', scope: 'x', field: 'candidateId' },
        events: [],
      });
      expect(Buffer.from(d.fsm.snapshot())).toEqual(
        Buffer.from(noopTwinSnapshot(before, { index: d.index, term: d.term, stampMs: d.nowMs })),
      );
    }
    expect(d.fsm.getHolder('x')).toMatchObject({ candidateId: 'a', sessionId: 's1', fenceToken: 1n });
  });

  it('treats a request without a session as a session of its own, so its retry is refused', () => {
    const d = new Driver();
    d.apply({ type: 'acquire', scope: 'x', candidateId: 'a', metadata: '', leaseTtlMs: ttl });
    const retry = d.apply({ type: 'acquire', scope: 'x', candidateId: 'a', metadata: '', leaseTtlMs: ttl });
    expect(retry).toMatchObject({ ok: false, error: { code: 'HELD_BY_OTHER_SESSION' } });
    expect(d.fsm.getHolder('x')).toMatchObject({ sessionId: '', fenceToken: 1n });
  });

  it('promotes the highest priority waiter, ties to the earliest, when the holder resigns', () => {
    const d = new Driver();
    d.apply({ type: 'acquire', scope: 'x', candidateId: 'h', metadata: '', leaseTtlMs: ttl });
    d.apply({ type: 'campaign', scope: 'x', candidateId: 'low', metadata: '', leaseTtlMs: ttl, priority: 1 });
    d.apply({
      type: 'campaign',
      scope: 'x',
      candidateId: 'first',
      metadata: '',
      leaseTtlMs: ttl,
      priority: 5,
    });
    d.apply({
      type: 'campaign',
      scope: 'x',
      candidateId: 'second',
      metadata: '',
      leaseTtlMs: ttl,
      priority: 5,
    });
    expect(d.fsm.getScope('x')?.waiting.map((w) => w.candidateId)).toEqual(['first', 'second', 'low']);
    const resign = d.apply({ type: 'resign', scope: 'x', fenceToken: 1n });
    expect(resign.events[0]).toMatchObject({
      reason: 'resigned',
      previousHolder: { candidateId: 'h', fenceToken: 1n },
      holder: { candidateId: 'first', fenceToken: 5n },
      scopeTerm: 2,
    });
    const next = d.apply({ type: 'resign', scope: 'x', fenceToken: 5n });
    expect(next.events[0]?.holder?.candidateId).toBe('second');
  });

  it('clamps a stamp that goes backwards to the last stamp', () => {
    const d = new Driver();
    d.nowMs = 10_000;
    d.noop();
    const result = d.apply(
      { type: 'acquire', scope: 'x', candidateId: 'a', metadata: '', leaseTtlMs: ttl },
      4_000,
    );
    expect(
      result.ok &&
        result.outcome.type === 'acquire' &&
        result.outcome.granted &&
        result.outcome.lease.deadlineMs,
    ).toBe(10_000 + ttl);
    expect(d.fsm.stats().clockMs).toBe(10_000);
  });

  it('throws InvariantViolation for an index at or below the last applied one', () => {
    const fsm = new LeadershipFsm();
    fsm.applyNoop({ index: 5, term: 1, stampMs: 0, proposerId: 'n1' });
    const command = encodeCommand({ type: 'grace', correlationId: 'g', tookOfficeStampMs: 0, graceMs: 0 });
    let caught: unknown;
    try {
      fsm.apply({ index: 5, term: 1, stampMs: 0, proposerId: 'n1', command });
    } catch (e: unknown) {
      caught = e;
    }
    expect(isInvariantViolation(caught)).toBe(true);
    expect((caught as InvariantViolation).message).toContain('apply index(5) not above last applied(5)');
    expect(() => fsm.applyNoop({ index: 3, term: 1, stampMs: 0, proposerId: 'n1' })).toThrow(
      'not above last applied',
    );
  });

  it('lists the leases due at a time, earliest first, and the next deadline', () => {
    const d = new Driver();
    d.apply({ type: 'acquire', scope: 'b', candidateId: 'a', metadata: '', leaseTtlMs: 3 * ttl });
    d.apply({ type: 'acquire', scope: 'a', candidateId: 'a', metadata: '', leaseTtlMs: 3 * ttl });
    d.apply({ type: 'acquire', scope: 'c', candidateId: 'a', metadata: '', leaseTtlMs: ttl });
    expect(d.fsm.nextDeadline()).toEqual({ scope: 'c', fenceToken: 3n, deadlineMs: d.nowMs + ttl });
    expect(d.fsm.expiredLeases(d.nowMs + ttl - 1)).toEqual([]);
    expect(d.fsm.expiredLeases(d.nowMs + 3 * ttl).map((l) => l.scope)).toEqual(['c', 'a', 'b']);
    expect(d.fsm.expiredLeases(d.nowMs + 3 * ttl, 2).map((l) => l.scope)).toEqual(['c', 'a']);
    expect(() => d.fsm.expiredLeases(d.nowMs, 0)).toThrow('limit is 0; allowed: 1..4096');
    d.nowMs += 500;
    d.apply({ type: 'renew', leases: [{ scope: 'c', fenceToken: 3n }] });
    expect(d.fsm.nextDeadline()).toEqual({ scope: 'c', fenceToken: 3n, deadlineMs: d.nowMs + ttl });
    d.apply({ type: 'resign', scope: 'c', fenceToken: 3n });
    expect(d.fsm.nextDeadline()?.scope).toBe('a');
    expect([...d.fsm.leases()].map((l) => l.scope)).toEqual(['a', 'b']);
  });

  it('looks up a listed lease by scope and fence without validating the name', () => {
    const d = new Driver();
    d.apply({ type: 'acquire', scope: 'x', candidateId: 'a', metadata: '', leaseTtlMs: ttl });
    const [due] = d.fsm.expiredLeases(d.nowMs + ttl);
    expect(d.fsm.heldLease(due!.scope, due!.fenceToken)).toEqual(d.fsm.getHolder('x'));
    expect(d.fsm.heldLease('x', 2n)).toBeNull();
    expect(d.fsm.heldLease('never-held', 1n)).toBeNull();
    // A name getHolder refuses answers null here: this FSM never stored it.
    expect(() => d.fsm.getHolder('')).toThrow();
    expect(d.fsm.heldLease('', 1n)).toBeNull();
    d.apply({ type: 'resign', scope: 'x', fenceToken: 1n });
    expect(d.fsm.heldLease('x', 1n)).toBeNull();
  });

  it('finds the right deadline after thousands of renewals of one lease', () => {
    const d = new Driver();
    d.apply({ type: 'acquire', scope: 'x', candidateId: 'a', metadata: '', leaseTtlMs: ttl });
    for (let i = 0; i < 5_000; i++) {
      d.nowMs += 1;
      d.apply({ type: 'renew', leases: [{ scope: 'x', fenceToken: 1n }] });
    }
    expect(d.fsm.expiredLeases(d.nowMs + ttl)).toEqual([
      { scope: 'x', fenceToken: 1n, deadlineMs: d.nowMs + ttl },
    ]);
    expect(d.fsm.nextDeadline()?.deadlineMs).toBe(d.nowMs + ttl);
  });

  it('keeps the deadline of a grant that compacts an index of mostly ended leases', () => {
    // 1,024 scopes held once and resigned leave their (stale) entries in the index; the next grant
    // pushes it past 2 × live leases + 1,024 and compacts it, which must keep that grant's lease.
    const d = new Driver();
    for (let i = 0; i < 1_024; i++) {
      d.apply({ type: 'acquire', scope: `old/${i}`, candidateId: 'a', metadata: '', leaseTtlMs: 100 * ttl });
      d.apply({ type: 'resign', scope: `old/${i}`, fenceToken: BigInt(d.fsm.stats().lastAppliedIndex) });
    }
    d.apply({ type: 'acquire', scope: 'new', candidateId: 'a', metadata: '', leaseTtlMs: ttl });
    const fenceToken = BigInt(d.fsm.stats().lastAppliedIndex);
    expect(d.fsm.nextDeadline()).toEqual({ scope: 'new', fenceToken, deadlineMs: d.nowMs + ttl });
    expect(d.fsm.expiredLeases(d.nowMs + ttl)).toEqual([
      { scope: 'new', fenceToken, deadlineMs: d.nowMs + ttl },
    ]);
  });

  it('pages through holders by prefix with a bounded page size', () => {
    const d = new Driver();
    for (const scope of ['shard/a/1', 'shard/a/2', 'shard/a/3', 'shard/b/1', 'global-control']) {
      d.apply({ type: 'acquire', scope, candidateId: 'a', metadata: '', leaseTtlMs: ttl });
    }
    const first = d.fsm.listHolders({ prefix: 'shard/a/', limit: 2 });
    expect(first.holders.map((h) => h.scope)).toEqual(['shard/a/1', 'shard/a/2']);
    expect(first.nextPageToken).toBe('shard/a/2');
    const second = d.fsm.listHolders({ prefix: 'shard/a/', limit: 2, pageToken: first.nextPageToken! });
    expect(second).toMatchObject({ holders: [{ scope: 'shard/a/3' }], nextPageToken: null });
    expect(d.fsm.listHolders().holders).toHaveLength(5);
    expect(() => d.fsm.listHolders({ limit: 1001 })).toThrow('limit is 1001; allowed: 1..1000');
    expect(() => d.fsm.listHolders({ prefix: 'A' })).toThrow('prefix must be');
  });
});
