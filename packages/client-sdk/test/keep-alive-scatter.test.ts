import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import type { KeepAliveRequest } from './support/fake-node';
import { bindLoopback, grantedAnswer, statusOf } from './support/fake-node';
import type { Lease, OmniRelayClient, RenewalEvent } from '../src/index';
import { createClient } from '../src/index';
import { SCATTER_EARLY_SHARE } from '../src/keep-alive';
import { sleep, waitFor } from './support/solo';

/** LEASES is how many leases the client holds. */
const LEASES = 60;
/** BURST_MIN is the fewest leases the failed request lists (see `fail`). */
const BURST_MIN = 15;
/**
 * TTL_MS and SKEW_MS make a renewal interval of (TTL_MS − SKEW_MS) / 3 = 1,000 ms: long enough that
 * a loaded test machine does not stall past it (the SDK would give the stream up as stuck and send
 * the leases again, a second burst).
 */
const TTL_MS = 3_100;
const SKEW_MS = 100;
const INTERVAL_MS = (TTL_MS - SKEW_MS) / 3;

/**
 * After a stream fails, the SDK sends every lease in flight again at once (the burst). Those leases
 * are then confirmed at one send time; renewed next a full interval later, they would come due
 * together again, and again after that (a leader change at 100,000 leases kept the new leader
 * taking every client's renewals at once). The SDK renews half of them, drawn at random, next
 * half an interval early, once: the burst's next sends go in two waves, and none comes later than
 * an interval after the burst.
 */
describe('KeepAlive after a failed stream', () => {
  jest.setTimeout(30_000);
  let server: grpc.Server;
  let address = '';
  /**
   * fail, while set, fails the next request listing at least BURST_MIN leases (once) with
   * UNAVAILABLE instead of answering: the burst is then that large, so its next sends cannot all
   * fall in one of the SDK's scans (a scan sends what comes due before the next one) by chance.
   */
  let fail = false;
  let client: OmniRelayClient | undefined;

  beforeAll(async () => {
    server = new grpc.Server();
    const api = loadPublicApi();
    let fence = 100;
    server.addService(api.cluster.definition, { Status: statusOf('n1', 'n1') });
    server.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) =>
        callback(null, grantedAnswer(call.request.scope, fence++, 1, TTL_MS)),
      KeepAlive: (call: grpc.ServerDuplexStream<KeepAliveRequest, object>) => {
        call.on('data', (request: KeepAliveRequest) => {
          if (fail && request.leases.length >= BURST_MIN) {
            fail = false;
            call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the test fails this stream' });
            return;
          }
          call.write({
            results: request.leases.map((l) => ({ ...l, renewed: true, deadlineMs: 0, errorCode: '' })),
          });
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    address = await bindLoopback(server);
  });

  afterEach(() => {
    client?.close();
    client = undefined;
  });

  afterAll(() => server.forceShutdown());

  it(`renews half the leases sent again after a failed stream ${SCATTER_EARLY_SHARE} of an interval early: two waves, none late`, async () => {
    /** events holds each lease's renewal events with their times, in order. */
    const events = new Map<string, { type: RenewalEvent['type']; atMs: number }[]>();
    const c = createClient({
      endpoints: [address],
      maxClockSkewMs: SKEW_MS,
      onRenewal: (e: RenewalEvent) => {
        const list = events.get(e.scope) ?? [];
        list.push({ type: e.type, atMs: performance.now() });
        events.set(e.scope, list);
      },
    });
    client = c;
    // Acquired together, so that their renewals go in large requests.
    const leases = (
      await Promise.all(
        Array.from({ length: LEASES }, (_, i) => c.acquire(`scatter/${i}`, { ttlMs: TTL_MS })),
      )
    ).map((l) => l!);
    // Every lease renewed once: the SDK's schedule is running.
    const renewedOnce = (l: Lease): boolean => (events.get(l.scope) ?? []).some((e) => e.type === 'renewed');
    await waitFor('every lease renewed once', () => leases.every(renewedOnce), 5_000);
    // Fail the stream at its next request: the leases in flight go again at once, on a new stream.
    fail = true;
    await waitFor('the stream failed', () => !fail, 5_000);
    await sleep(3 * INTERVAL_MS);
    // The burst: each lease left unanswered, its next send (the burst) and the send after that, when
    // the burst send was renewed (not left unanswered again by a second failure).
    const burst = leases.flatMap((l) => {
      const list = events.get(l.scope)!;
      const lost = list.findIndex((e) => e.type === 'unanswered');
      if (lost < 0) return [];
      const after = list.slice(lost + 1);
      const [again, answer, next] = after;
      if (again?.type !== 'sent' || answer?.type !== 'renewed' || next?.type !== 'sent') return [];
      return [{ againAtMs: again.atMs, nextAtMs: next.atMs }];
    });
    expect(burst.length).toBeGreaterThanOrEqual(BURST_MIN / 2);
    // Sent again together, their next sends go in two waves half an interval apart (together again,
    // they would go at one scan) ...
    const next = burst.map((b) => b.nextAtMs);
    expect(Math.max(...next) - Math.min(...next)).toBeGreaterThan(INTERVAL_MS / 4);
    // ... SCATTER_EARLY_SHARE of an interval early at most (and a scan, which sends what comes due
    // before the next one), never late (an interval, a scan and timer slack).
    for (const { againAtMs, nextAtMs } of burst) {
      expect(nextAtMs - againAtMs).toBeGreaterThanOrEqual(
        INTERVAL_MS * (1 - SCATTER_EARLY_SHARE) - INTERVAL_MS / 4 - 20,
      );
      expect(nextAtMs - againAtMs).toBeLessThanOrEqual(INTERVAL_MS + INTERVAL_MS / 4 + 500);
    }
    // All still held: renewing early never cost a lease.
    expect(leases.every((l) => l.signal.aborted === false)).toBe(true);
  });
});
