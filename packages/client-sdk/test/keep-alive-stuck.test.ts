import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import type { KeepAliveRequest } from './support/fake-node';
import { bindLoopback, fakeWireLease, grantedAnswer, renewingKeepAlive, statusOf } from './support/fake-node';
import type { ClientOptions, OmniRelayClient, RenewalEvent } from '../src/index';
import { createClient } from '../src/index';
import { sleep, waitFor } from './support/solo';

/**
 * observedClient is a client of `endpoints` with a 100 ms clock skew bound and a 50 ms backoff cap
 * (plus `options`) whose renewal events are collected in `events`.
 */
function observedClient(
  endpoints: string[],
  options: Partial<ClientOptions> = {},
): { client: OmniRelayClient; events: RenewalEvent[] } {
  const events: RenewalEvent[] = [];
  const client = createClient({
    endpoints,
    maxClockSkewMs: 100,
    backoffMaxMs: 50,
    onRenewal: (event) => events.push(event),
    ...options,
  });
  return { client, events };
}

/**
 * A KeepAlive stream can stay open while nothing comes back on it (a proxy or a follower whose
 * path to the leader died). A fake follower, naming a leader the client cannot reach, answers
 * Acquire and Status as if it forwarded them, and leaves the first KeepAlive stream unanswered
 * while it answers later ones: the SDK must give the silent stream up after one renewal interval
 * and renew on a new one, before the lease could lapse.
 */
describe('KeepAlive on a stream that stops answering', () => {
  let server: grpc.Server;
  let address = '';
  let streams = 0;

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    const lease = {
      scope: 'stuck/1',
      candidateId: 'c',
      metadata: '',
      scopeTerm: 1,
      fenceToken: '7',
      leaseTtlMs: 1000,
      deadlineMs: Date.now() + 1000,
      lastRenewalStampMs: Date.now(),
      grantedStampMs: Date.now(),
      revision: 7,
    };
    server.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) =>
        callback(null, {
          granted: true,
          alreadyHolder: false,
          lease: { ...lease, scope: call.request.scope },
          raftTerm: 1,
        }),
      KeepAlive: (
        call: grpc.ServerDuplexStream<{ leases: { scope: string; fenceToken: string }[] }, object>,
      ) => {
        const silent = streams++ === 0;
        call.on('data', (request: { leases: { scope: string; fenceToken: string }[] }) => {
          if (silent) return;
          call.write({
            results: request.leases.map((l) => ({
              scope: l.scope,
              fenceToken: l.fenceToken,
              // Scopes under refused/ are another candidate's: their renewals are refused.
              renewed: !l.scope.startsWith('refused/'),
              deadlineMs: 0,
              errorCode: l.scope.startsWith('refused/') ? 'NOT_HOLDER' : '',
            })),
          });
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    server.addService(api.cluster.definition, { Status: statusOf('fake', 'elsewhere') });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('cancels the silent stream after a renewal interval and keeps the lease on a new one', async () => {
    const { client, events } = observedClient([address]);
    try {
      const lease = (await client.acquire('stuck/1', { ttlMs: 1000 }))!;
      // ttl 1000 - skew 100: renewed every 300 ms, unconfirmed after 900 ms.
      await sleep(2500);
      expect(streams).toBeGreaterThanOrEqual(2);
      expect(lease.endedReason).toBeUndefined();
      expect(lease.isValid()).toBe(true);
      // onRenewal heard the renewal lost with the silent stream, then the confirmed ones.
      const steps = events.map(
        (e) =>
          `${e.type}${e.code === undefined ? '' : `:${e.code}`}${e.reason === undefined ? '' : `:${e.reason}`}`,
      );
      expect(steps.slice(0, 4)).toEqual(['sent', 'unanswered:CANCELLED:stream-stuck', 'sent', 'renewed']);
      expect(events.every((e) => e.scope === 'stuck/1' && e.fence === 7n)).toBe(true);
      // Each event names the node its request's stream went to (the only one here).
      expect(events.every((e) => e.node === address)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('tells onRenewal of a refused renewal, and an observer that throws changes nothing', async () => {
    const events: RenewalEvent[] = [];
    const client = createClient({
      endpoints: [address],
      maxClockSkewMs: 100,
      onRenewal: (event) => {
        events.push(event);
        throw new Error('a broken observer');
      },
    });
    try {
      const lease = (await client.acquire('refused/1', { ttlMs: 1000 }))!;
      await waitFor('the renewal to be refused', () => lease.endedReason !== undefined, 5000);
      expect(lease.endedReason).toBe('refused');
      expect(events.map((e) => [e.type, e.scope, e.fence, e.code])).toEqual([
        ['sent', 'refused/1', 7n, undefined],
        ['refused', 'refused/1', 7n, 'NOT_HOLDER'],
      ]);
    } finally {
      client.close();
    }
  });
});

/**
 * A leader that falls behind answers every renewal, in order, but later than a renewal interval.
 * The stream is slow, not stuck: cancelling it would drop what the leader is working on and send it
 * all again, more load on a leader already behind.
 */
describe('KeepAlive on a stream that answers late', () => {
  let server: grpc.Server;
  let address = '';
  let streams = 0;
  let fence = 0;
  let answered = 0;

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    server.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) =>
        callback(null, grantedAnswer(call.request.scope, ++fence, 1, 1200)),
      // The first answers come at once; then the leader falls behind: each answer, on any
      // stream, 450 ms after its request (the renewal interval is 367 ms), still in order.
      KeepAlive: renewingKeepAlive(
        () => (answered++ < 8 ? 0 : 450),
        () => streams++,
      ),
    });
    server.addService(api.cluster.definition, { Status: statusOf('fake', 'fake') });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('keeps the stream while answers still come, and every lease with it', async () => {
    const client = createClient({ endpoints: [address], maxClockSkewMs: 100, backoffMaxMs: 50 });
    try {
      // Eight leases granted 40 ms apart: their renewals, and so the answers, come every ~40 ms.
      const leases = [];
      for (let i = 0; i < 8; i++) {
        leases.push((await client.acquire(`slow/${i}`, { ttlMs: 1200 }))!);
        await sleep(40);
      }
      await sleep(2500);
      expect(streams).toBe(1);
      expect(leases.every((l) => l.endedReason === undefined && l.isValid())).toBe(true);
    } finally {
      client.close();
    }
  });
});

/**
 * A loaded leader answers KeepAlive late (past attemptTimeoutMs) and its Status later still. It
 * runs: the late renewal answers prove it. Taking it for frozen would cancel every client's
 * stream at once and send all their renewals again, to the same leader (a 100,000-lease scale run
 * collapsed that way). The stream must stay, and every renewal on it be answered.
 */
describe('KeepAlive to a leader that answers late and its Status later still', () => {
  let server: grpc.Server;
  let address = '';
  let streams = 0;
  let statusCalls = 0;
  let fence = 0;

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    const status = statusOf('fake', 'fake');
    server.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) =>
        callback(null, grantedAnswer(call.request.scope, ++fence, 1, 3000)),
      // Each answer 450 ms after its request: past the client's 300 ms attempt timeout, within
      // its renewal interval (967 ms), in order.
      KeepAlive: renewingKeepAlive(
        () => 450,
        () => streams++,
      ),
    });
    server.addService(api.cluster.definition, {
      // Status answered 900 ms late: three times the client's attempt timeout, so the silence
      // check's question times out (at 600 ms) after the renewal's answer came (at 450 ms).
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) => {
        statusCalls++;
        setTimeout(() => status(call, callback), 900);
      },
    });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('keeps the stream: the late answers prove the leader runs', async () => {
    const { client, events } = observedClient([address], { attemptTimeoutMs: 300 });
    try {
      const lease = (await client.acquire('late/1', { ttlMs: 3000 }))!;
      const statusBefore = statusCalls;
      // ttl 3000 − skew 100: renewed every 967 ms; four renewals.
      await sleep(3600);
      // The silence check ran (the node was asked), and found the node alive.
      expect(statusCalls).toBeGreaterThan(statusBefore);
      expect(streams).toBe(1);
      expect(events.filter((e) => e.type === 'unanswered')).toEqual([]);
      expect(events.filter((e) => e.type === 'renewed').length).toBeGreaterThanOrEqual(3);
      expect(lease.endedReason).toBeUndefined();
      expect(lease.isValid()).toBe(true);
    } finally {
      client.close();
    }
  });
});

/**
 * The scale run's collapse (bench/README.md "scale"): a loaded leader left an acquire's attempt
 * unanswered past attemptTimeoutMs, the router took it for frozen, and every KeepAlive silence
 * check of that client then cancelled its stream at once, without asking, dropping a thousand
 * renewals in flight to send them again to the same leader. A node that answered something while
 * the attempt waited runs: it is slow, not frozen, and its streams stay.
 */
describe('an acquire abandoned on a leader that answers other calls meanwhile', () => {
  let leader: grpc.Server;
  let follower: grpc.Server;
  let leaderAddress = '';
  let followerAddress = '';
  let streams = 0;
  let fence = 0;
  const acquires = new Map<string, number>();
  const fences = new Map<string, number>();
  const ATTEMPT_MS = 400;
  let loaded = false;

  beforeAll(async () => {
    const api = loadPublicApi();
    // The follower serves what it is sent as if it forwarded it to the leader.
    const leadership = {
      // The first attempt at a scope under slow/ is answered 2 attempt timeouts late (it is
      // abandoned), a retry half an attempt timeout late; others at once.
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) => {
        const scope = call.request.scope;
        const n = (acquires.get(scope) ?? 0) + 1;
        acquires.set(scope, n);
        // The scope is granted when first asked (one fence); a retry finds the candidate holding it.
        if (n === 1) fences.set(scope, ++fence);
        const answer = (): void =>
          callback(null, {
            granted: true,
            alreadyHolder: n > 1,
            lease: fakeWireLease(scope, fences.get(scope)!, 'c', 6000),
            raftTerm: 1,
          });
        if (!scope.startsWith('slow/')) answer();
        else setTimeout(answer, n === 1 ? 2 * ATTEMPT_MS : ATTEMPT_MS / 2);
      },
      GetLeader: (_call: unknown, callback: grpc.sendUnaryData<object>) => callback(null, { leader: null }),
      // Renewals answered 1.5 attempt timeouts late (a leader behind on renewals), in order.
      KeepAlive: renewingKeepAlive(
        () => 1.5 * ATTEMPT_MS,
        () => streams++,
      ),
    };
    leader = new grpc.Server();
    leader.addService(api.leadership.definition, leadership);
    // Once loaded, the leader answers Status slower still (behind its queue of work): 3 attempt timeouts.
    const leaderStatus = statusOf('fake', 'fake');
    leader.addService(api.cluster.definition, {
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) =>
        setTimeout(() => leaderStatus(call, callback), loaded ? 3 * ATTEMPT_MS : 0),
    });
    leaderAddress = await bindLoopback(leader);
    follower = new grpc.Server();
    follower.addService(api.leadership.definition, leadership);
    follower.addService(api.cluster.definition, { Status: statusOf('f', 'fake') });
    followerAddress = await bindLoopback(follower);
  });

  afterAll(() => {
    leader.forceShutdown();
    follower.forceShutdown();
  });

  it('does not take the leader for frozen, and keeps the KeepAlive stream and its renewals', async () => {
    const { client, events } = observedClient([leaderAddress, followerAddress], {
      attemptTimeoutMs: ATTEMPT_MS,
      callTimeoutMs: 10 * ATTEMPT_MS,
    });
    try {
      // Renewed every (6000 − 100) / 3 ≈ 1967 ms: no periodic renewal in the next second.
      const held = (await client.acquire('held/1', { ttlMs: 6000 }))!;
      const eventsBefore = events.length;
      // t=0 the slow acquire; t≈100 the leader answers a read; t≈150 a renewal is sent (answered
      // at ≈750); t≈400 the acquire's attempt is abandoned; t≈550 the renewal's silence check.
      loaded = true;
      const acquire = client.acquire('slow/1', { ttlMs: 6000 });
      await sleep(100);
      await client.getLeader('other/1');
      await sleep(50);
      await client.renew(held);
      expect((await acquire)?.fence).toBe(BigInt(fences.get('slow/1')!));
      const after = events
        .slice(eventsBefore)
        .map((e) => `${e.type}${e.code === undefined ? '' : `:${e.code}`}`);
      expect(after.filter((e) => e.startsWith('unanswered'))).toEqual([]);
      expect(streams).toBe(1);
      expect(held.isValid()).toBe(true);
    } finally {
      client.close();
    }
  });
});

/**
 * A node that stops answering anything (frozen): the silence check asks its Status, gets nothing,
 * and cancels the stream, telling onRenewal why (reason node-silent), long before the renewal
 * interval's stuck bound.
 */
describe('KeepAlive to a node that answers nothing any more', () => {
  let server: grpc.Server;
  let address = '';
  let frozen = false;

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    const status = statusOf('fake', 'fake');
    server.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) =>
        callback(null, grantedAnswer(call.request.scope, 3)),
      KeepAlive: (
        call: grpc.ServerDuplexStream<{ leases: { scope: string; fenceToken: string }[] }, object>,
      ) => {
        call.on('data', () => undefined); // frozen or not, it never answers a renewal here
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    server.addService(api.cluster.definition, {
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) => {
        if (!frozen) status(call, callback);
      },
    });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('cancels the stream after its Status goes unanswered too, with reason node-silent', async () => {
    const { client, events } = observedClient([address], { attemptTimeoutMs: 200 });
    try {
      // A 60 s lease (renewed every ~20 s): only the silence check can end the stream in time.
      const lease = (await client.acquire('silent/1', { ttlMs: 60_000 }))!;
      frozen = true;
      void client.renew(lease).catch(() => undefined);
      await waitFor('the silent stream cancelled', () => events.some((e) => e.type === 'unanswered'), 3000);
      expect(events.find((e) => e.type === 'unanswered')).toMatchObject({
        code: 'CANCELLED',
        reason: 'node-silent',
      });
    } finally {
      client.close();
    }
  });
});

/**
 * A leader stalled longer than the Status question's bound (a saturated event loop, a long GC) is
 * silent to its clients but still leads: its followers hear it and name it. Cancelling its streams
 * as frozen sends all their renewals to it again, more work for a leader already behind (a scale
 * run lost every lease that way after a leader change). A leader the others no longer name, or a
 * node no other node names, is left as frozen (see 'a node that answers nothing any more').
 */
describe('KeepAlive to a leader stalled past the Status bound that its follower still names', () => {
  const ATTEMPT_MS = 200;
  /** STALL_MS is how long the leader answers nothing: several Status bounds. */
  const STALL_MS = 6 * ATTEMPT_MS;
  let leader: grpc.Server;
  let follower: grpc.Server;
  let leaderAddress = '';
  let followerAddress = '';
  let streams = 0;
  /** stalledUntil is when the stalled leader answers again (performance.now(); 0: not stalled). */
  let stalledUntil = 0;
  /** followerNames is the leader the follower names ('fake' the leader, 'f' itself). */
  let followerNames = 'fake';
  const afterStall = (answer: () => void): void => {
    const waitMs = stalledUntil - performance.now();
    if (waitMs > 0) setTimeout(answer, waitMs);
    else answer();
  };

  beforeAll(async () => {
    const api = loadPublicApi();
    leader = new grpc.Server();
    leader.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) =>
        callback(null, grantedAnswer(call.request.scope, 5)),
      KeepAlive: (call: grpc.ServerDuplexStream<KeepAliveRequest, object>) => {
        streams++;
        call.on('data', (request: KeepAliveRequest) =>
          afterStall(() =>
            call.write({
              results: request.leases.map((l) => ({ ...l, renewed: true, deadlineMs: 0, errorCode: '' })),
            }),
          ),
        );
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    const leaderStatus = statusOf('fake', 'fake');
    leader.addService(api.cluster.definition, {
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) =>
        afterStall(() => leaderStatus(call, callback)),
    });
    leaderAddress = await bindLoopback(leader);
    follower = new grpc.Server();
    follower.addService(api.cluster.definition, {
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) =>
        statusOf('f', followerNames)(call, callback),
    });
    followerAddress = await bindLoopback(follower);
  });

  afterAll(() => {
    leader.forceShutdown();
    follower.forceShutdown();
  });

  /**
   * stalledRenewal renews a 60 s lease (renewed every ~20 s: only the silence check acts) across a
   * stall, during which the follower names `leaderDuringStall` ('f': itself, elected meanwhile).
   */
  async function stalledRenewal(
    leaderDuringStall: string,
  ): Promise<{ events: RenewalEvent[]; renewed: Promise<void> }> {
    followerNames = 'fake';
    const { client, events } = observedClient([leaderAddress, followerAddress], {
      attemptTimeoutMs: ATTEMPT_MS,
      callTimeoutMs: 4 * STALL_MS,
    });
    const lease = (await client.acquire('stalled/1', { ttlMs: 60_000 }))!;
    stalledUntil = performance.now() + STALL_MS;
    followerNames = leaderDuringStall;
    const renewed = client.renew(lease).finally(() => client.close());
    return { events, renewed };
  }

  it('keeps the stream and its renewal while the follower names the silent leader, and the renewal is answered', async () => {
    streams = 0;
    const { events, renewed } = await stalledRenewal('fake');
    await renewed;
    expect(events.filter((e) => e.type === 'unanswered')).toEqual([]);
    expect(events.filter((e) => e.scope === 'stalled/1').map((e) => e.type)).toEqual(['sent', 'renewed']);
    expect(streams).toBe(1);
  });

  it('cancels the stream (node-silent) when the follower names another leader', async () => {
    const { events, renewed } = await stalledRenewal('f');
    await waitFor('the silent stream cancelled', () => events.some((e) => e.type === 'unanswered'), STALL_MS);
    expect(events.find((e) => e.type === 'unanswered')).toMatchObject({
      code: 'CANCELLED',
      reason: 'node-silent',
    });
    await renewed.catch(() => undefined);
  });
});

/**
 * After a failover every client opens a stream to the new leader and sends its renewals again at
 * once: the first answer on a fresh stream can take longer than a renewal interval. The leader
 * still answers (its Status), so the stream waits for it rather than being cancelled and its
 * renewals sent a second time to the same backlog.
 */
describe('KeepAlive on a fresh stream to a leader whose first answer comes after a renewal interval', () => {
  let server: grpc.Server;
  let address = '';
  let streams = 0;
  let fence = 0;
  let delayMs = 0;

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    server.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) =>
        callback(null, grantedAnswer(call.request.scope, ++fence, 1, 3000)),
      KeepAlive: renewingKeepAlive(
        () => delayMs,
        () => streams++,
      ),
    });
    server.addService(api.cluster.definition, { Status: statusOf('fake', 'fake') });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('keeps the stream while the leader answers, and the lease', async () => {
    const { client, events } = observedClient([address], { attemptTimeoutMs: 300 });
    try {
      // ttl 3000 − skew 100: renewed every 967 ms; the first answer comes 1.5 intervals late.
      delayMs = 1450;
      const lease = (await client.acquire('backlog/1', { ttlMs: 3000 }))!;
      await waitFor('the first renewal answered', () => events.some((e) => e.type !== 'sent'), 5000);
      expect(events.filter((e) => e.type !== 'sent').map((e) => e.type)).toEqual(['renewed']);
      expect(streams).toBe(1);
      expect(lease.isValid()).toBe(true);
    } finally {
      client.close();
    }
  });
});
