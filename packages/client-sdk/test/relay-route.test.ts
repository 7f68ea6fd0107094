import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { bindLoopback, grantedAnswer, notLeaderStatus, statusOf } from './support/fake-node';
import { createClient, isOmniRelayError } from '../src/index';

/**
 * A client given only a follower's address cannot reach the leader itself: the follower names a
 * leader whose address the client does not know, and forwards writes to it. The client must
 * then send its writes to that follower without asking for Status before every one (that doubled
 * the calls), and look again only once the follower fails to forward.
 */
describe('a client that knows only a follower', () => {
  let server: grpc.Server;
  let address = '';
  let statusCalls = 0;
  let acquireCalls = 0;
  /** refuseNext makes the next Acquire answer NOT_LEADER (the follower could not forward). */
  let refuseNext = false;

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    server.addService(api.leadership.definition, {
      Acquire: (
        call: grpc.ServerUnaryCall<{ scope: string }, object>,
        callback: grpc.sendUnaryData<object>,
      ) => {
        acquireCalls++;
        if (refuseNext) {
          refuseNext = false;
          callback(notLeaderStatus('n1'));
          return;
        }
        callback(null, grantedAnswer(call.request.scope, acquireCalls));
      },
    });
    server.addService(api.cluster.definition, {
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) => {
        statusCalls++;
        statusOf('n2', 'n1')(call, callback);
      },
    });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('sends writes to the follower after one Status, and asks again only after it fails to forward', async () => {
    const client = createClient({ endpoints: [address], backoffMaxMs: 20, callTimeoutMs: 2000 });
    try {
      for (let i = 0; i < 5; i++) {
        const lease = await client.acquire(`relay/${i}`, { ttlMs: 60_000 });
        expect(lease).not.toBeNull();
      }
      expect(acquireCalls).toBe(5);
      expect(statusCalls).toBe(1);

      // The follower could not forward once: the client looks for the leader again, then retries.
      refuseNext = true;
      const lease = await client.acquire('relay/5', { ttlMs: 60_000 });
      expect(lease).not.toBeNull();
      expect(acquireCalls).toBe(7);
      expect(statusCalls).toBe(2);
    } catch (e) {
      throw isOmniRelayError(e) ? new Error(`${e.code}: ${e.message}`) : e;
    } finally {
      client.close();
    }
  });
});
