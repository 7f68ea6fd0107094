import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { bindLoopback } from './support/fake-node';
import type { RenewalEvent } from '../src/index';
import { createClient } from '../src/index';
import { sleep } from './support/solo';

/** WATCH_MS is how long the test counts renewals of one lease. */
const WATCH_MS = 3000;

/**
 * The SDK renews a lease every (ttl − skew) / 3, not more often: a fake leader grants one lease
 * and confirms every renewal at once; over WATCH_MS the SDK may send at most one renewal per
 * interval (late timers only make it fewer).
 */
describe('KeepAlive renewal period', () => {
  let server: grpc.Server;
  let address = '';

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    const now = Date.now();
    server.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) =>
        callback(null, {
          granted: true,
          alreadyHolder: false,
          lease: {
            scope: call.request.scope,
            candidateId: 'c',
            scopeTerm: 1,
            fenceToken: '9',
            leaseTtlMs: 1000,
            deadlineMs: now + 1000,
            lastRenewalStampMs: now,
            grantedStampMs: now,
            revision: 9,
          },
          raftTerm: 1,
        }),
      KeepAlive: (
        call: grpc.ServerDuplexStream<{ leases: { scope: string; fenceToken: string }[] }, object>,
      ) => {
        call.on('data', (request: { leases: { scope: string; fenceToken: string }[] }) =>
          call.write({
            results: request.leases.map((l) => ({ ...l, renewed: true, deadlineMs: 0, errorCode: '' })),
          }),
        );
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('sends a lease at most once per renewal interval, not twice', async () => {
    const sent: RenewalEvent[] = [];
    const client = createClient({
      endpoints: [address],
      maxClockSkewMs: 100,
      onRenewal: (event) => {
        if (event.type === 'sent') sent.push(event);
      },
    });
    try {
      const lease = (await client.acquire('period/1', { ttlMs: 1000 }))!;
      await sleep(WATCH_MS);
      // ttl 1000 − skew 100: one renewal every 300 ms.
      expect(lease.isValid()).toBe(true);
      expect(sent.length).toBeGreaterThanOrEqual(1);
      expect(sent.length).toBeLessThanOrEqual(WATCH_MS / 300 + 1);
    } finally {
      client.close();
    }
  });
});
