import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { loadPublicApi } from '@omnirelay/server';
import { createClient } from '../src/index';
import { bindLoopback, grantedAnswer, statusOf } from './support/fake-node';

/** RETRY_AFTER_MS is the wait the fake leader asks for with its BACKPRESSURE refusals. */
const RETRY_AFTER_MS = 600;

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

  beforeAll(async () => {
    leader = new grpc.Server();
    const api = loadPublicApi();
    leader.addService(api.leadership.definition, {
      Acquire: (call: { request: { scope: string } }, callback: grpc.sendUnaryData<object>) => {
        attemptsAt.push(performance.now());
        if (attemptsAt.length < 3) callback(backpressure(RETRY_AFTER_MS), null);
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
    const client = createClient({ endpoints: [address], callTimeoutMs: RETRY_AFTER_MS / 2 });
    try {
      const started = performance.now();
      await expect(client.acquire('pushback/2', { ttlMs: 60_000 })).rejects.toMatchObject({
        code: 'BACKPRESSURE',
        details: { retryAfterMs: RETRY_AFTER_MS },
      });
      expect(attemptsAt).toHaveLength(1);
      expect(performance.now() - started).toBeLessThan(RETRY_AFTER_MS);
    } finally {
      client.close();
    }
  });
});
