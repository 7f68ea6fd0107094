import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { BEST_EFFORT_IN_FLIGHT_MAX, BestEffortQueue } from '../src/best-effort-queue';
import { bindLoopback, fakeWireLease } from './support/fake-node';
import { waitFor } from './support/solo';
import type { Lease } from '../src/index';
import { createClient } from '../src/index';

/**
 * LEASE_TTL_MS is the fake node's lease TTL: short, so the unanswered leases end soon, but long
 * enough that an Acquire answered slowly on a loaded machine is not stale. A stale answer (late by
 * half the lease's validity, ~400 ms at a 1 s TTL) makes acquire wait for a KeepAlive renewal,
 * which this node never answers, and one CI run failed that way.
 */
const LEASE_TTL_MS = 3000;

/**
 * startSilentKeepAliveNode is a fake leader that grants every Acquire (TTL LEASE_TTL_MS), never
 * answers a KeepAlive (every lease ends unconfirmed) and answers each Resign after 30 ms, counting
 * how many it served and the most it had in flight at once.
 */
async function startSilentKeepAliveNode(): Promise<{
  server: grpc.Server;
  address: string;
  resigns: { total: number; inFlight: number; inFlightMax: number };
}> {
  const api = loadPublicApi();
  const resigns = { total: 0, inFlight: 0, inFlightMax: 0 };
  let fence = 0;
  const server = new grpc.Server();
  server.addService(api.leadership.definition, {
    Acquire: (call: grpc.ServerUnaryCall<{ scope: string }, object>, callback: grpc.sendUnaryData<object>) =>
      callback(null, {
        granted: true,
        alreadyHolder: false,
        raftTerm: 1,
        lease: fakeWireLease(call.request.scope, ++fence, 'c', LEASE_TTL_MS),
      }),
    Resign: (call: grpc.ServerUnaryCall<{ scope: string }, object>, callback: grpc.sendUnaryData<object>) => {
      resigns.total++;
      resigns.inFlight++;
      resigns.inFlightMax = Math.max(resigns.inFlightMax, resigns.inFlight);
      setTimeout(() => {
        resigns.inFlight--;
        callback(null, { scope: call.request.scope, raftTerm: 1 });
      }, 30);
    },
    KeepAlive: (call: grpc.ServerDuplexStream<unknown, object>) => {
      call.on('data', () => undefined);
      call.on('error', () => undefined);
    },
  });
  server.addService(api.cluster.definition, {
    Status: (_call: unknown, callback: grpc.sendUnaryData<object>) =>
      callback(null, {
        nodeId: 'n1',
        role: 'leader',
        term: 1,
        leader: 'n1',
        commit: 1,
        applied: 1,
        members: [],
      }),
  });
  return { server, address: await bindLoopback(server), resigns };
}

describe('resigns of leases whose renewal was never confirmed', () => {
  it('go a few at a time when many leases end together', async () => {
    const node = await startSilentKeepAliveNode();
    const client = createClient({ endpoints: [node.address], candidateId: 'c' });
    try {
      const leases: Lease[] = [];
      for (let i = 0; i < 100; i++) {
        const lease = await client.acquire(`blip/${i}`, { ttlMs: LEASE_TTL_MS });
        leases.push(lease!);
      }
      await waitFor('every lease to end unconfirmed', () => leases.every((l) => l.signal.aborted), 10_000);
      expect(leases.every((l) => l.endedReason === 'unconfirmed')).toBe(true);
      await waitFor(
        'the resigns to settle',
        () => node.resigns.total > 0 && node.resigns.inFlight === 0,
        10_000,
      );
      // One resign per lease at once was 100 in flight here (25,000 from one scale-bench worker).
      expect(node.resigns.inFlightMax).toBeLessThanOrEqual(BEST_EFFORT_IN_FLIGHT_MAX);
      // The leases end over a few hundred ms (acquired one after another), so how many waiting
      // resigns were dropped depends on timing: at most one each, and the first few always ran.
      expect(node.resigns.total).toBeGreaterThanOrEqual(BEST_EFFORT_IN_FLIGHT_MAX);
      expect(node.resigns.total).toBeLessThanOrEqual(leases.length);
    } finally {
      client.close();
      node.server.forceShutdown();
    }
  }, 30_000);
});

describe('BestEffortQueue', () => {
  it('runs at most its bound at once and drops the oldest waiting call when full', async () => {
    const queue = new BestEffortQueue(2, 3);
    const ran: number[] = [];
    const gates: Array<() => void> = [];
    for (let i = 0; i < 7; i++) {
      queue.push(async () => {
        ran.push(i);
        await new Promise<void>((r) => gates.push(r));
      });
    }
    expect(queue.inFlight).toBe(2);
    expect(ran).toEqual([0, 1]);
    // 5 waited for 3 places: calls 2 and 3 were dropped, 4, 5 and 6 wait.
    expect(queue.dropped).toBe(2);
    for (let round = 0; round < 5 && gates.length > 0; round++) {
      gates.splice(0).forEach((open) => open());
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
    expect(ran).toEqual([0, 1, 4, 5, 6]);
    expect(queue.inFlight).toBe(0);
  });

  it('ignores a failing call and goes on with the next', async () => {
    const queue = new BestEffortQueue(1, 4);
    const ran: string[] = [];
    queue.push(() => {
      ran.push('fails');
      return Promise.reject(new Error('gone'));
    });
    queue.push(() => {
      ran.push('next');
      return Promise.resolve();
    });
    await waitFor('both calls to run', () => ran.length === 2 && queue.inFlight === 0, 2000);
    expect(ran).toEqual(['fails', 'next']);
  });

  it('drops what waits when closed, and anything pushed after', () => {
    const queue = new BestEffortQueue(1, 4);
    queue.push(() => new Promise(() => undefined));
    queue.push(() => Promise.resolve());
    queue.close();
    queue.push(() => Promise.resolve());
    expect(queue.dropped).toBe(2);
  });
});
