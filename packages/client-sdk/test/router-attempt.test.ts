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
