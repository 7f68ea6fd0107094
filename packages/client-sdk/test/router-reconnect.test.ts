import * as grpc from '@grpc/grpc-js';
import type { Socket } from 'node:net';
import { createServer } from 'node:net';
import { loadPublicApi } from '@omnirelay/server';
import { createClient } from '../src/index';
import { sleep } from './support/solo';

/**
 * A node that was down (killed, restarting) comes back on the same address. grpc-js retries a
 * failed connection on its own backoff (by default 1 s growing 1.6× per attempt up to 120 s), and
 * until that timer fires every call on the channel fails at once with the stale error ("No
 * connection established. Last error: ECONNREFUSED"), whatever the SDK's own retries do. A KeepAlive
 * that follows the Raft leader to a node restarted a few seconds earlier then cannot reach it for
 * seconds, and its leases lapse. The SDK's channels must try again at least as often as its own
 * backoff (backoffMaxMs), so a node that is back is used again within that.
 */
describe('a node that comes back on its address', () => {
  jest.setTimeout(15_000);

  it('is reached again within backoffMaxMs, not after grpc-js reconnect backoff', async () => {
    // While "down", the address accepts TCP and drops it at once: each connection attempt is seen.
    let attempts = 0;
    const sockets = new Set<Socket>();
    const down = createServer((socket) => {
      attempts++;
      sockets.add(socket);
      socket.destroy();
    });
    const port = await new Promise<number>((resolve) =>
      down.listen(0, '127.0.0.1', () => resolve((down.address() as { port: number }).port)),
    );
    const address = `127.0.0.1:${port}`;
    const client = createClient({ endpoints: [address], callTimeoutMs: 300, backoffMaxMs: 100 });
    const up = new grpc.Server();
    try {
      await expect(client.status({ address })).rejects.toThrow();
      // Three failed attempts: grpc-js's default backoff would now wait ≥ 2 s (2.56 s ± 20 %).
      for (let i = 0; i < 300 && attempts < 3; i++) await sleep(10);
      expect(attempts).toBeGreaterThanOrEqual(3);
      await new Promise<void>((resolve) => down.close(() => resolve()));
      up.addService(loadPublicApi().cluster.definition, {
        Status: (_call: unknown, callback: grpc.sendUnaryData<object>) =>
          callback(null, { nodeId: 'n1', role: 'leader', term: 1, leader: 'n1', members: [] }),
      });
      await new Promise<void>((resolve, reject) =>
        up.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e) =>
          e === null ? resolve() : reject(e),
        ),
      );
      const upAt = Date.now();
      let reachedAfterMs = Infinity;
      for (let i = 0; i < 200 && Date.now() - upAt < 4000; i++) {
        try {
          await client.status({ address });
          reachedAfterMs = Date.now() - upAt;
          break;
        } catch {
          await sleep(20);
        }
      }
      expect(reachedAfterMs).toBeLessThan(1000);
    } finally {
      client.close();
      up.forceShutdown();
      for (const s of sockets) s.destroy();
      down.close();
    }
  });
});
