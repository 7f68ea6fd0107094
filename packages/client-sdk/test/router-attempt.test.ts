import * as grpc from '@grpc/grpc-js';
import type { Socket } from 'node:net';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { loadPublicApi } from '@omnirelay/server';
import { createClient } from '../src/index';
import { bindLoopback, statusOf } from './support/fake-node';

/** ATTEMPT_TIMEOUT_MS is the clients' attemptTimeoutMs here; their call timeout is far longer. */
const ATTEMPT_TIMEOUT_MS = 1000;
const CALL_TIMEOUT_MS = 8000;

/**
 * A node that accepts connections and never answers is what a frozen process (SIGSTOP) looks
 * like to a client: its kernel completes the TCP handshake, nothing more. A call that may go again
 * unanswered must leave it after attemptTimeoutMs and be served by another node; the router then
 * passes it over until it answers again.
 */
describe('an attempt to a node that never answers', () => {
  let frozen: ReturnType<typeof createServer>;
  const sockets = new Set<Socket>();
  let frozenAddress = '';
  let live: grpc.Server;
  let liveAddress = '';
  let reads = 0;
  // Room for the call timeout, so a call that waits it out (the bug) fails on its own error.
  jest.setTimeout(3 * CALL_TIMEOUT_MS);

  beforeAll(async () => {
    frozen = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    frozenAddress = `127.0.0.1:${(frozen.address() as AddressInfo).port}`;
    live = new grpc.Server();
    const api = loadPublicApi();
    live.addService(api.leadership.definition, {
      GetLeader: (_call: unknown, callback: grpc.sendUnaryData<object>) => {
        reads++;
        callback(null, { leader: null });
      },
    });
    live.addService(api.cluster.definition, { Status: statusOf('live', '') });
    liveAddress = await bindLoopback(live);
  });

  afterAll(() => {
    live.forceShutdown();
    for (const socket of sockets) socket.destroy();
    frozen.close();
  });

  it('is abandoned after attemptTimeoutMs, the call is served by another node, and the next call passes it over', async () => {
    const client = createClient({
      endpoints: [frozenAddress, liveAddress],
      callTimeoutMs: CALL_TIMEOUT_MS,
      attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
    });
    try {
      // A serializable read goes to the endpoints in turn: the frozen one first.
      const started = performance.now();
      expect(await client.getLeader('x/1', { serializable: true })).toBeNull();
      const first = performance.now() - started;
      expect(first).toBeGreaterThanOrEqual(ATTEMPT_TIMEOUT_MS - 50);
      // Far below the call timeout, which the call used to wait out on the frozen node.
      expect(first).toBeLessThan(CALL_TIMEOUT_MS / 2);
      const again = performance.now();
      expect(await client.getLeader('x/2', { serializable: true })).toBeNull();
      expect(performance.now() - again).toBeLessThan(ATTEMPT_TIMEOUT_MS);
      expect(reads).toBe(2);
    } finally {
      client.close();
    }
  });
});

/**
 * The frozen-leader flake (frozen-leader.test.ts, CI): a leader answered another call a few
 * milliseconds after this call's attempt started, then froze. The router gave a node that had
 * "answered since the abandoned attempt" the rest of the deadline on the next attempt (alive,
 * only slow), and it counted from the attempt's start, so the frozen leader's last answer before
 * the freeze made it look alive: the call waited out its deadline there. Only an answer after
 * the attempt was abandoned proves the node still runs.
 */
describe('a leader that answers another call just after an attempt started, then freezes', () => {
  let a: grpc.Server;
  let b: grpc.Server;
  let aAddress = '';
  let bAddress = '';
  /** bLeadsAt is when b names itself the leader (the election after a froze). */
  let bLeadsAt = Number.POSITIVE_INFINITY;
  let aFrozen = false;
  jest.setTimeout(3 * CALL_TIMEOUT_MS);

  beforeAll(async () => {
    const api = loadPublicApi();
    a = new grpc.Server();
    a.addService(api.leadership.definition, {
      // a answers the read of `s/answered` 30 ms late and then freezes: it answers nothing more
      // (the read of `s/frozen` stays in its socket). Before that it answers at once.
      GetLeader: (
        call: grpc.ServerUnaryCall<{ scope: string }, object>,
        callback: grpc.sendUnaryData<object>,
      ) => {
        const scope = call.request.scope;
        if (scope === 's/answered') {
          setTimeout(() => {
            callback(null, { leader: null });
            aFrozen = true;
          }, 30);
        } else if (!aFrozen && scope !== 's/frozen') callback(null, { leader: null });
      },
    });
    a.addService(api.cluster.definition, {
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) => {
        if (!aFrozen) statusOf('a', 'a')(call, callback);
      },
    });
    aAddress = await bindLoopback(a);
    b = new grpc.Server();
    b.addService(api.leadership.definition, {
      // A follower forwarding to the frozen a never answers; once b leads, it serves the read.
      GetLeader: (_call: unknown, callback: grpc.sendUnaryData<object>) => {
        if (performance.now() >= bLeadsAt) callback(null, { leader: null });
      },
    });
    b.addService(api.cluster.definition, {
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) =>
        statusOf('b', performance.now() >= bLeadsAt ? 'b' : 'a')(call, callback),
    });
    bAddress = await bindLoopback(b);
  });

  afterAll(() => {
    a.forceShutdown();
    b.forceShutdown();
  });

  it('bounds the next attempt there, so the call is served by the next leader well before its deadline', async () => {
    const client = createClient({
      endpoints: [aAddress, bAddress],
      callTimeoutMs: CALL_TIMEOUT_MS,
      attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
    });
    try {
      expect(await client.getLeader('s/warm')).toBeNull(); // the client learns that a leads
      const started = performance.now();
      // b still names a after its attempt is abandoned too (2 s), and leads from 2.5 s.
      bLeadsAt = started + 2.5 * ATTEMPT_TIMEOUT_MS;
      const call = client.getLeader('s/frozen');
      await client.getLeader('s/answered');
      expect(await call).toBeNull();
      // a bounded attempt at a (1 s), at b (1 s), at a again (1 s), then b: about 3 s, not the 8 s deadline.
      expect(performance.now() - started).toBeLessThan(CALL_TIMEOUT_MS / 2);
    } finally {
      client.close();
    }
  });
});
