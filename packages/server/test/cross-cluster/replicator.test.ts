import type { Logger } from 'pino';
import type { LeadershipService } from '../../src/leadership/leadership-service';
import type { LeadershipStateMachine } from '../../src/leadership/leadership-state-machine';
import { REPLICATOR_DEFAULTS, Replicator } from '../../src/cross-cluster/replicator';
import { freePort } from '../../src/index';

/** RETRY_MS is the test's pause between attempts; RUN_MS how long it lets the replicator retry. */
const RETRY_MS = 20;
const RUN_MS = 600;

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
    replicator.reconsider();
    await new Promise((r) => setTimeout(r, RUN_MS));
    replicator.stop();
    const started = attempts.filter((m) => m.includes('following the active cluster')).length;
    expect(started).toBeGreaterThan(1);
    // One chain of attempts: at most one per pause (a failure that doubled them would reach thousands).
    expect(started).toBeLessThanOrEqual(RUN_MS / RETRY_MS + 1);
    expect(replicator.status).toBe('stopped');
  });
});
