import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { loadPublicApi } from '@omnirelay/server';
import { createClient } from '../src/index';
import { bindLoopback, grantedAnswer, statusOf } from './support/fake-node';

/** RETRY_AFTER_MS is the wait the fake leader asks for with its BACKPRESSURE refusals. */
const RETRY_AFTER_MS = 600;

/**
 * LONG_RETRY_AFTER_MS is the wait it asks for when the test needs a deadline (half of it) shorter
 * than the wait yet long enough for a first call on a busy host: with 600 and a 300 ms deadline, a
 * CI run right after a cluster test's nodes stopped answered DEADLINE_EXCEEDED before the refusal
 * came.
 */
const LONG_RETRY_AFTER_MS = 4_000;

/** backpressure is the status a leader refusing new leases answers with, asking for `retryAfterMs`. */
function backpressure(retryAfterMs: number): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set('omnirelay-error-code', 'BACKPRESSURE');
  metadata.set('omnirelay-retry-after-ms', String(retryAfterMs));
  return {
    code: grpc.status.RESOURCE_EXHAUSTED,
    details: 'new leases are refused while this leader catches up with renewals',
    metadata,
  };
}

/**
 * A leader that refuses new leases (BACKPRESSURE) says how long to wait. Refused callers that came
 * back on their own short backoff (25 ms, doubling) kept an overloaded leader answering hundreds
 * of refused calls a second while its renewals fell behind (bench/README.md "scale").
 */
describe('a call refused with BACKPRESSURE and a retry-after', () => {
  let leader: grpc.Server;
  let address = '';
  const attemptsAt: number[] = [];
  let retryAfterMs = RETRY_AFTER_MS;

  beforeAll(async () => {
    leader = new grpc.Server();
    const api = loadPublicApi();
    leader.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) => {
        attemptsAt.push(performance.now());
        if (attemptsAt.length < 3) callback(backpressure(retryAfterMs), null);
        else callback(null, grantedAnswer(call.request.scope, 7));
      },
    });
    leader.addService(api.cluster.definition, { Status: statusOf('n1', 'n1') });
    address = await bindLoopback(leader);
  });

  afterAll(() => {
    leader.forceShutdown();
  });

  it('goes again no sooner than the leader asked (and no later than half as long again), then succeeds', async () => {
    const client = createClient({ endpoints: [address], callTimeoutMs: 10 * RETRY_AFTER_MS });
    try {
      const lease = await client.acquire('pushback/1', { ttlMs: 60_000 });
      expect(lease?.fence).toBe(7n);
      expect(attemptsAt).toHaveLength(3);
      for (const k of [1, 2]) {
        const waitedMs = attemptsAt[k]! - attemptsAt[k - 1]!;
        expect(waitedMs).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 5);
        expect(waitedMs).toBeLessThan(1.5 * RETRY_AFTER_MS + 250);
      }
    } finally {
      client.close();
    }
  });

  it('fails with the refusal when the deadline leaves no room for the wait, with what it asked for', async () => {
    attemptsAt.length = 0;
    retryAfterMs = LONG_RETRY_AFTER_MS;
    const client = createClient({ endpoints: [address], callTimeoutMs: LONG_RETRY_AFTER_MS / 2 });
    try {
      const started = performance.now();
      await expect(client.acquire('pushback/2', { ttlMs: 60_000 })).rejects.toMatchObject({
        code: 'BACKPRESSURE',
        details: { retryAfterMs: LONG_RETRY_AFTER_MS },
      });
      expect(attemptsAt).toHaveLength(1);
      // It waited out its own deadline, not the wait the leader asked for.
      expect(performance.now() - started).toBeLessThan(LONG_RETRY_AFTER_MS);
    } finally {
      retryAfterMs = RETRY_AFTER_MS;
      client.close();
    }
  });
});
