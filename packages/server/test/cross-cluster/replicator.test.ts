import type { Logger } from 'pino';
import type { LeadershipService } from '../../src/leadership/leadership-service';
import type { LeadershipStateMachine } from '../../src/leadership/leadership-state-machine';
import { REPLICATOR_DEFAULTS, Replicator } from '../../src/cross-cluster/replicator';
import { freePort } from '../../src/index';

/** RETRY_MS is the test's pause between attempts; ATTEMPTS how many it waits for, WAIT_MS at most how long. */
const RETRY_MS = 20;
const ATTEMPTS = 3;
const RUN_MS = 600;
const WAIT_MS = 20_000;

/** passiveFollowing is a state machine whose cluster is passive and follows `a` at `endpoint`. */
function passiveFollowing(endpoint: string): LeadershipStateMachine {
  const peer = {
    clusterId: 'a',
    region: '',
    priority: 0,
    state: 'active',
    failoverEpoch: 0,
    endpoints: [endpoint],
    changedBy: '',
    reason: '',
    changedRevision: 1,
    changedStampMs: 0,
  };
  const view = { state: 'passive', following: 'a', peers: [peer], mirror: { versionVector: {} } };
  return { fsm: { cluster: () => view } } as unknown as LeadershipStateMachine;
}

describe('Replicator', () => {
  it('keeps one attempt in flight while the active cluster does not answer', async () => {
    const attempts: string[] = [];
    const logger = {
      info: (_fields: unknown, message: string) => attempts.push(message),
      warn: () => undefined,
      debug: () => undefined,
    } as unknown as Logger;
    // A port nothing listens on: every attempt fails at once.
    const endpoint = `127.0.0.1:${await freePort()}`;
    const replicator = new Replicator(
      {} as LeadershipService,
      passiveFollowing(endpoint),
      () => true,
      logger,
      {
        ...REPLICATOR_DEFAULTS,
        retryMs: RETRY_MS,
      },
    );
    const startedCount = (): number =>
      attempts.filter((m) => m.includes('following the active cluster')).length;
    const from = performance.now();
    replicator.reconsider();
    // At least RUN_MS, and until it retried a few times (a loaded machine makes each failed
    // attempt slower), bounded by WAIT_MS.
    while (
      (startedCount() < ATTEMPTS || performance.now() - from < RUN_MS) &&
      performance.now() - from < WAIT_MS
    ) {
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
    replicator.stop();
    const elapsedMs = performance.now() - from;
    const started = startedCount();
    expect(started).toBeGreaterThanOrEqual(ATTEMPTS);
    // One chain of attempts: at most one per pause (a failure that doubled them would reach thousands).
    expect(started).toBeLessThanOrEqual(Math.ceil(elapsedMs / RETRY_MS) + 1);
    expect(replicator.status).toBe('stopped');
  }, 30_000);
});
