import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { freePort } from '@omnirelay/server';
import type { LeadershipEvent } from '../src/index';
import { createClient, isOmniRelayError } from '../src/index';
import type { SoloCluster } from './support/solo';
import { rejectionOf, sleep, startSolo, waitFor } from './support/solo';

let solo: SoloCluster;
beforeAll(async () => {
  solo = await startSolo();
});
afterAll(async () => {
  await solo.stop();
});

describe('acquire and resign', () => {
  it('grants a vacant scope with a fence, refuses a held one, and frees it on resign', async () => {
    const a = solo.client({ candidateId: 'a' });
    const b = solo.client({ candidateId: 'b' });
    const lease = await a.acquire('acq/1', { ttlMs: 5000, metadata: 'addr-a' });
    expect(lease).not.toBeNull();
    expect(typeof lease!.fence).toBe('bigint');
    expect(lease!.fence).toBeGreaterThan(0n);
    expect(lease!.candidateId).toBe('a');
    expect(lease!.signal.aborted).toBe(false);
    expect(lease!.isValid()).toBe(true);
    // The conservative deadline is within ttl − skew of the send time.
    expect(lease!.remainingMs()).toBeLessThanOrEqual(5000 - 250);
    expect(lease!.raftTerm).toBeGreaterThan(0n);

    expect(await b.acquire('acq/1', { ttlMs: 5000 })).toBeNull();
    const leader = await b.getLeader('acq/1');
    expect(leader?.candidateId).toBe('a');
    expect(leader?.fence).toBe(lease!.fence);
    expect(leader?.metadata).toBe('addr-a');
    expect((await b.validateFence('acq/1', lease!.fence)).valid).toBe(true);

    await lease!.resign();
    expect(lease!.signal.aborted).toBe(true);
    expect(lease!.endedReason).toBe('resigned');
    expect(await b.getLeader('acq/1')).toBeNull();
    const next = await b.acquire('acq/1', { ttlMs: 5000 });
    expect(next!.fence).toBeGreaterThan(lease!.fence);
    const stale = await a.validateFence('acq/1', lease!.fence);
    expect(stale.valid).toBe(false);
    expect(stale.current?.fence).toBe(next!.fence);
    await next!.resign();
  });

  it('resign says whether it removed the holder: not after the lease ended, nor after an operator removed it', async () => {
    const a = solo.client({ candidateId: 'says' });
    const lease = (await a.acquire('acq/says', { ttlMs: 5000 }))!;
    expect(await lease.resign()).toBe(true);
    expect(await lease.resign()).toBe(false);
    const again = (await a.acquire('acq/says', { ttlMs: 5000 }))!;
    await a.stepDown('acq/says');
    expect(again.endedReason).toBeUndefined();
    expect(await again.resign()).toBe(false);
    expect(again.endedReason).toBe('resigned');
  });

  it('acquiring a scope this client already holds returns that same lease, so ending it ends it for every caller', async () => {
    const a = solo.client({ candidateId: 'again' });
    const first = (await a.acquire('acq/again', { ttlMs: 5000 }))!;
    const second = (await a.acquire('acq/again', { ttlMs: 5000 }))!;
    // One Lease per held lease: a second object would stay valid here after the first resigned
    // (and the cluster may hand the scope on), renewed by nobody.
    expect(second).toBe(first);
    expect(second.sessionId).toBe(a.sessionId);
    expect(a.leaseCount).toBe(1);
    expect(await second.resign()).toBe(true);
    expect(first.isValid()).toBe(false);
    expect(first.signal.aborted).toBe(true);
    // Once it ended, acquiring again makes a new lease with a higher fence.
    const third = (await a.acquire('acq/again', { ttlMs: 5000 }))!;
    expect(third).not.toBe(first);
    expect(third.fence).toBeGreaterThan(first.fence);
    await third.resign();
  });

  it('refuses a second client with the same candidate id, so two processes never hold one fence', async () => {
    const a = solo.client({ candidateId: 'twin' });
    const b = solo.client({ candidateId: 'twin' });
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(a.sessionId).toMatch(/^[0-9a-f]{32}$/);
    const lease = await a.acquire('acq/twin', { ttlMs: 5000 });
    expect(lease!.sessionId).toBe(a.sessionId);

    const acquired = await rejectionOf(b.acquire('acq/twin', { ttlMs: 5000 }));
    expect(acquired.code).toBe('HELD_BY_OTHER_SESSION');
    expect(acquired.message).toMatch(/another client session/);
    const campaigned = await rejectionOf(b.campaign('acq/twin', { ttlMs: 5000 }));
    expect(campaigned.code).toBe('HELD_BY_OTHER_SESSION');
    expect(b.leaseCount).toBe(0);
    expect(await b.getLeader('acq/twin')).toMatchObject({ fence: lease!.fence, sessionId: a.sessionId });

    // Once the first lets go, the second gets its own lease, with a fence FenceGuard tells apart.
    await lease!.resign();
    const next = await b.acquire('acq/twin', { ttlMs: 5000 });
    expect(next!.fence).toBeGreaterThan(lease!.fence);
    expect(next!.sessionId).toBe(b.sessionId);
    await next!.resign();
  });

  it('renews leases automatically, so a short TTL outlives many TTLs', async () => {
    const a = solo.client({ maxClockSkewMs: 100 });
    const lease = await a.acquire('renew/auto', { ttlMs: 600 });
    const before = await a.getLeader('renew/auto');
    await sleep(2000);
    expect(lease!.signal.aborted).toBe(false);
    const after = await a.getLeader('renew/auto');
    expect(after?.fence).toBe(lease!.fence);
    expect(after!.deadlineMs).toBeGreaterThan(before!.deadlineMs);
    await lease!.renew();
    expect(lease!.remainingMs()).toBeGreaterThan(300);
    await lease!.resign();
  });

  it('aborts the signal with LEASE_LOST as soon as the cluster refuses a renewal (operator step-down)', async () => {
    const a = solo.client({ maxClockSkewMs: 100 });
    const op = solo.client();
    const lease = await a.acquire('renew/stepped', { ttlMs: 900 });
    const stepped = await op.stepDown('renew/stepped');
    expect(stepped.previous?.fence).toBe(lease!.fence);
    await waitFor('the lease to end', () => lease!.signal.aborted, 3000);
    expect(lease!.endedReason).toBe('refused');
    const reason: unknown = lease!.signal.reason;
    expect(isOmniRelayError(reason, 'LEASE_LOST')).toBe(true);
    expect(a.leaseCount).toBe(0);
  });

  it('close() ends every lease with reason closed', async () => {
    const a = createClient({ endpoints: [solo.server.grpcAddress] });
    const lease = await a.acquire('close/1', { ttlMs: 5000 });
    a.close();
    expect(lease!.signal.aborted).toBe(true);
    expect(lease!.endedReason).toBe('closed');
    expect((await rejectionOf(a.acquire('close/2', { ttlMs: 5000 }))).code).toBe('CLOSED');
    await solo.client().stepDown('close/1');
  });
});

describe('campaign', () => {
  it('queues behind the holder and resolves when the holder resigns', async () => {
    const a = solo.client({ candidateId: 'holder' });
    const b = solo.client({ candidateId: 'waiter' });
    const held = await a.acquire('camp/1', { ttlMs: 5000 });
    const queued: number[] = [];
    const waiting = b.campaign('camp/1', { ttlMs: 5000, onQueued: (q) => queued.push(q.position) });
    await waitFor('the waiter to queue', () => queued.length > 0);
    expect(queued).toEqual([0]);
    await held!.resign();
    const lease = await waiting;
    expect(lease.candidateId).toBe('waiter');
    expect(lease.fence).toBeGreaterThan(held!.fence);
    expect(lease.isValid()).toBe(true);
    await lease.resign();
  });

  it('elects at once on a vacant scope', async () => {
    const lease = await solo.client().campaign('camp/vacant', { ttlMs: 5000, priority: 3 });
    expect(lease.isValid()).toBe(true);
    await lease.resign();
  });

  it('rejects with CANCELLED when aborted, and the withdrawn candidate is not elected later', async () => {
    const a = solo.client({ candidateId: 'h' });
    const b = solo.client({ candidateId: 'quitter' });
    const held = await a.acquire('camp/abort', { ttlMs: 5000 });
    const controller = new AbortController();
    let queued = false;
    const waiting = b.campaign('camp/abort', {
      ttlMs: 5000,
      signal: controller.signal,
      onQueued: () => (queued = true),
    });
    await waitFor('queued', () => queued);
    controller.abort();
    expect((await rejectionOf(waiting)).code).toBe('CANCELLED');
    await sleep(100);
    await held!.resign();
    expect(await a.getLeader('camp/abort')).toBeNull();
  });
});

describe('watch', () => {
  it('yields each holder change in revision order, and replays from a revision', async () => {
    const c = solo.client();
    const controller = new AbortController();
    const seen: LeadershipEvent[] = [];
    const done = (async () => {
      for await (const e of c.watch('watch/', { signal: controller.signal })) seen.push(e);
    })();
    await sleep(100);
    const lease = await c.acquire('watch/a', { ttlMs: 5000 });
    await lease!.resign();
    await waitFor('two events', () => seen.length >= 2);
    controller.abort();
    await done;
    expect(seen.map((e) => [e.scope, e.reason])).toEqual([
      ['watch/a', 'granted'],
      ['watch/a', 'resigned'],
    ]);
    expect(seen[0]!.holder?.fence).toBe(lease!.fence);
    expect(seen[1]!.revision).toBeGreaterThan(seen[0]!.revision);

    const replay: LeadershipEvent[] = [];
    for await (const e of c.watch('watch/', { fromRevision: seen[0]!.revision })) {
      replay.push(e);
      if (replay.length === 2) break;
    }
    expect(replay.map((e) => e.revision)).toEqual(seen.map((e) => e.revision));
  });
});

describe('clusters', () => {
  it('asks one node once at an address, and fails at once where nothing listens', async () => {
    const view = await solo.client().clusters({ address: solo.server.grpcAddress, timeoutMs: 2_000 });
    expect(view.state).toBe('active');
    const client = createClient({ endpoints: [solo.server.grpcAddress], callTimeoutMs: 600_000 });
    try {
      // No retry until callTimeoutMs: the one attempt's refusal is the answer.
      const e = await rejectionOf(client.clusters({ address: '127.0.0.1:1' }));
      expect(e.code).toBe('UNAVAILABLE');
    } finally {
      client.close();
    }
  });
});

describe('bad input gets a typed error and changes nothing', () => {
  it.each([
    ['an invalid scope', () => solo.client().acquire('Bad Scope!', { ttlMs: 5000 }), 'INVALID_SCOPE'],
    [
      'a TTL under the cluster minimum',
      () => solo.client().acquire('bad/ttl', { ttlMs: 400 }),
      'TTL_OUT_OF_RANGE',
    ],
    ['a TTL not above the skew', () => solo.client().acquire('bad/ttl2', { ttlMs: 200 }), 'INVALID_ARGUMENT'],
    [
      'oversized metadata',
      () => solo.client().acquire('bad/meta', { ttlMs: 5000, metadata: 'x'.repeat(2000) }),
      'METADATA_TOO_LARGE',
    ],
    [
      'releaseOnResetMs above the TTL',
      () => solo.client().acquire('bad/ror', { ttlMs: 5000, releaseOnResetMs: 9000 }),
      'INVALID_ARGUMENT',
    ],
    [
      'releaseOnResetMs not above the skew',
      () => solo.client().acquire('bad/ror2', { ttlMs: 5000, releaseOnResetMs: 250 }),
      'INVALID_ARGUMENT',
    ],
    ['fence 0', () => solo.client().validateFence('bad/fence', 0n), 'INVALID_ARGUMENT'],
    ['a clusters timeout of 0', () => solo.client().clusters({ timeoutMs: 0 }), 'INVALID_ARGUMENT'],
  ])('%s', async (_what, run, code) => {
    const e = await rejectionOf(run());
    expect(e.code).toBe(code);
    expect(e.message.length).toBeGreaterThan(10);
    expect(await solo.client().allLeaders({ prefix: 'bad/' })).toEqual([]);
  });

  it('refuses bad client options', () => {
    expect(() => createClient({ endpoints: [] })).toThrow(/at least one endpoint/);
    expect(() => createClient({ endpoints: ['nope'] })).toThrow(/host:port/);
    expect(() => createClient({ endpoints: ['127.0.0.1:1'], callTimeoutMs: 0 })).toThrow(/callTimeoutMs/);
    expect(() => createClient({ endpoints: ['127.0.0.1:1'], attemptTimeoutMs: 0 })).toThrow(
      /attemptTimeoutMs must be a positive number/,
    );
    expect(() => createClient({ endpoints: ['127.0.0.1:1'], attemptTimeoutMs: Number.NaN })).toThrow(
      /attemptTimeoutMs/,
    );
    let tooLong: unknown;
    try {
      createClient({ endpoints: ['127.0.0.1:1'], callTimeoutMs: 2000, attemptTimeoutMs: 2001 });
    } catch (e) {
      tooLong = e;
    }
    expect(isOmniRelayError(tooLong, 'INVALID_ARGUMENT')).toBe(true);
    expect((tooLong as Error).message).toMatch(
      /attemptTimeoutMs \(2001\) must not exceed callTimeoutMs \(2000\)/,
    );
    // Unset, it is capped by a shorter call timeout rather than refused.
    createClient({ endpoints: ['127.0.0.1:1'], callTimeoutMs: 300 }).close();
  });

  it('reports UNAVAILABLE, not DEADLINE_EXCEEDED, when looking for the leader used up the deadline', async () => {
    // A listener that accepts connections and never answers: every Status of the leader lookup
    // runs into the call's whole deadline, and no attempt of the call itself is left.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const c = createClient({
      endpoints: [`127.0.0.1:${(silent.address() as AddressInfo).port}`],
      callTimeoutMs: 300,
    });
    try {
      const e = await rejectionOf(c.members());
      expect(e.code).toBe('UNAVAILABLE');
      expect(e.message).toMatch(/no node answered \(127\.0\.0\.1:\d+\)/);
    } finally {
      c.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('reports UNAVAILABLE within the call timeout when no node answers', async () => {
    const c = createClient({ endpoints: [`127.0.0.1:${await freePort()}`], callTimeoutMs: 800 });
    const started = performance.now();
    const e = await rejectionOf(c.acquire('x/1', { ttlMs: 5000 }));
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toMatch(/cannot reach 127\.0\.0\.1:\d+/);
    expect(performance.now() - started).toBeLessThan(3000);
    c.close();
  });
});
