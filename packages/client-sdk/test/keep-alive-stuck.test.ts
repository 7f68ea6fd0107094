import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { bindLoopback, fakeWireLease, statusOf } from './support/fake-node';
import type { RenewalEvent } from '../src/index';
import { createClient } from '../src/index';
import { sleep, waitFor } from './support/solo';

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
    server.addService(api.cluster.definition, { Status: statusOf('fake', 'fake') });
    address = await bindLoopback(server);
  });

  afterAll(() => server.forceShutdown());

  it('cancels the silent stream after a renewal interval and keeps the lease on a new one', async () => {
    const events: RenewalEvent[] = [];
    const client = createClient({
      endpoints: [address],
      maxClockSkewMs: 100,
      backoffMaxMs: 50,
      onRenewal: (event) => events.push(event),
    });
    try {
      const lease = (await client.acquire('stuck/1', { ttlMs: 1000 }))!;
      // ttl 1000 - skew 100: renewed every 300 ms, unconfirmed after 900 ms.
      await sleep(2500);
      expect(streams).toBeGreaterThanOrEqual(2);
      expect(lease.endedReason).toBeUndefined();
      expect(lease.isValid()).toBe(true);
      // onRenewal heard the renewal lost with the silent stream, then the confirmed ones.
      const steps = events.map((e) => `${e.type}${e.code === undefined ? '' : `:${e.code}`}`);
      expect(steps.slice(0, 4)).toEqual(['sent', 'unanswered:CANCELLED', 'sent', 'renewed']);
      expect(events.every((e) => e.scope === 'stuck/1' && e.fence === 7n)).toBe(true);
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
        callback(null, {
          granted: true,
          alreadyHolder: false,
          lease: fakeWireLease(call.request.scope, ++fence, 'c', 1200),
          raftTerm: 1,
        }),
      KeepAlive: (
        call: grpc.ServerDuplexStream<{ leases: { scope: string; fenceToken: string }[] }, object>,
      ) => {
        streams++;
        call.on('data', (request: { leases: { scope: string; fenceToken: string }[] }) => {
          // The first answers come at once; then the leader falls behind: each answer, on any
          // stream, 450 ms after its request (the renewal interval is 367 ms), still in order.
          setTimeout(
            () => {
              call.write({
                results: request.leases.map((l) => ({
                  scope: l.scope,
                  fenceToken: l.fenceToken,
                  renewed: true,
                  deadlineMs: 0,
                  errorCode: '',
                })),
              });
            },
            answered++ < 8 ? 0 : 450,
          );
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
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
