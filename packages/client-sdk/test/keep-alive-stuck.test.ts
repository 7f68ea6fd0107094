import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { bindLoopback } from './support/fake-node';
import { createClient } from '../src/index';
import { sleep } from './support/solo';

/**
 * A KeepAlive stream can stay open while nothing comes back on it (a proxy or a follower whose
 * path to the leader died). A fake node answers Acquire and Status, and leaves the first
 * KeepAlive stream unanswered while it answers later ones: the SDK must give the silent stream
 * up after one renewal interval and renew on a new one, before the lease could lapse.
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
      Acquire: (_call: unknown, callback: grpc.sendUnaryData<object>) =>
        callback(null, { granted: true, alreadyHolder: false, lease, raftTerm: 1 }),
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
              renewed: true,
              deadlineMs: 0,
              errorCode: '',
            })),
          });
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    server.addService(api.cluster.definition, {
      Status: (_call: unknown, callback: grpc.sendUnaryData<object>) =>
        callback(null, {
          nodeId: 'fake',
          role: 'leader',
          term: 1,
          leader: 'fake',
          commit: 7,
          applied: 7,
          members: [],
        }),
    });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('cancels the silent stream after a renewal interval and keeps the lease on a new one', async () => {
    const client = createClient({ endpoints: [address], maxClockSkewMs: 100, backoffMaxMs: 50 });
    try {
      const lease = (await client.acquire('stuck/1', { ttlMs: 1000 }))!;
      // ttl 1000 - skew 100: renewed every 300 ms, unconfirmed after 900 ms.
      await sleep(2500);
      expect(streams).toBeGreaterThanOrEqual(2);
      expect(lease.endedReason).toBeUndefined();
      expect(lease.isValid()).toBe(true);
    } finally {
      client.close();
    }
  });
});
