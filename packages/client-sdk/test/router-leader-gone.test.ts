import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { loadPublicApi } from '@omnirelay/server';
import { bindLoopback, grantedAnswer, notLeaderStatus, statusOf } from './support/fake-node';
import { createClient, isOmniRelayError } from '../src/index';

/** deadAddress is a loopback address where nothing listens (connections are refused). */
async function deadAddress(): Promise<string> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() =>
        typeof a === 'object' && a !== null ? resolve(`127.0.0.1:${a.port}`) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * After a kill -9 of the leader, the node a client took for the leader refuses connections. The
 * client must try the other node at once (it holds the write until the next leader is known),
 * not back off first: with a backoff longer than the call's deadline, the write below succeeds
 * only if the client moves on without waiting.
 */
describe('a client whose leader is gone', () => {
  jest.setTimeout(20_000);
  let server: grpc.Server;
  let address = '';
  let dead = '';
  let acquireCalls = 0;

  beforeAll(async () => {
    dead = await deadAddress();
    server = new grpc.Server();
    const api = loadPublicApi();
    server.addService(api.leadership.definition, {
      Acquire: (
        call: grpc.ServerUnaryCall<{ scope: string }, object>,
        callback: grpc.sendUnaryData<object>,
      ) => {
        acquireCalls++;
        if (acquireCalls === 1) {
          // The follower names the leader it followed, at its address, where nothing listens now.
          callback(notLeaderStatus('n1', dead));
          return;
        }
        callback(null, grantedAnswer(call.request.scope, acquireCalls, 2));
      },
    });
    server.addService(api.cluster.definition, {
      Status: statusOf('n2', '', 2),
    });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('retries on another node at once when the leader refuses the connection', async () => {
    const client = createClient({
      endpoints: [address],
      backoffBaseMs: 60_000,
      backoffMaxMs: 60_000,
      callTimeoutMs: 5000,
    });
    try {
      const lease = await client.acquire('gone/1', { ttlMs: 60_000 });
      expect(lease).not.toBeNull();
      expect(acquireCalls).toBe(2);
      // The refused node is not taken again while another node is left to try.
      const next = await client.acquire('gone/2', { ttlMs: 60_000 });
      expect(next).not.toBeNull();
      expect(acquireCalls).toBe(3);
    } catch (e) {
      throw isOmniRelayError(e) ? new Error(`${e.code}: ${e.message}`) : e;
    } finally {
      client.close();
    }
  });
});
