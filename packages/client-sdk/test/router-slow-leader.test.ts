import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { loadPublicApi } from '@omnirelay/server';
import { Router } from '../src/router';
import { bindLoopback, statusOf } from './support/fake-node';

/** ATTEMPT_TIMEOUT_MS is the router's attemptTimeoutMs. */
const ATTEMPT_TIMEOUT_MS = 300;
/** ANSWER_MS is how long the slow leader takes to answer a read: longer than one attempt. */
const ANSWER_MS = 2 * ATTEMPT_TIMEOUT_MS;

/** routerOf is a router of the one node at `address`, with `attemptTimeoutMs` and a long call timeout. */
function routerOf(address: string, attemptTimeoutMs: number): Router {
  return new Router({
    endpoints: [address],
    callTimeoutMs: 10_000,
    attemptTimeoutMs,
    backoffBaseMs: 25,
    backoffMaxMs: 1000,
    keepaliveMs: 5000,
  });
}

/**
 * A leader seconds behind on renewals leaves a write unanswered for a whole attempt while its
 * process runs and answers other questions. The router used to take it for frozen the moment an
 * attempt found it silent: every KeepAlive stream of the client to it was then cancelled and its
 * renewals sent to it again, which at 100,000 leases turned a backlog into a collapse (bench
 * scale run of 2026-12-06 09:41: 368 acquires marked the leader unresponsive, 79,460 leases lost
 * in the fill). A node is taken for frozen only when it does not answer a Status either.
 */
describe('a leader that leaves an attempt unanswered but answers its Status', () => {
  let leader: grpc.Server;
  let address = '';
  let reads = 0;
  let statusQuestions = 0;
  jest.setTimeout(20_000);

  beforeAll(async () => {
    const api = loadPublicApi();
    leader = new grpc.Server();
    leader.addService(api.leadership.definition, {
      GetLeader: (_call: unknown, callback: grpc.sendUnaryData<object>) => {
        reads++;
        setTimeout(() => callback(null, { leader: null }), ANSWER_MS);
      },
    });
    const status = statusOf('a', 'a');
    leader.addService(api.cluster.definition, {
      Status: (call: unknown, callback: grpc.sendUnaryData<object>) => {
        statusQuestions++;
        status(call, callback);
      },
    });
    address = await bindLoopback(leader);
  });

  afterAll(() => leader.forceShutdown());

  it('is not taken for unresponsive, and the next attempt waits for its answer', async () => {
    const router = routerOf(address, ATTEMPT_TIMEOUT_MS);
    const takenForFrozen: string[] = [];
    router.onUnresponsive((a) => takenForFrozen.push(a));
    try {
      expect(await router.discover()).toBe(true);
      expect(router.knownLeaderAddress).toBe(address);
      // The Status answer's trailers come after its message: let them land before the call.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const asked = statusQuestions;
      const started = performance.now();
      await router.call('Leadership', 'GetLeader', { scope: 's/1' }, { leader: true, retryUnanswered: true });
      const tookMs = performance.now() - started;

      // The first attempt was abandoned, the leader was asked for its Status and answered it,
      // and the next attempt got the rest of the deadline: two reads, one Status question.
      expect(reads).toBe(2);
      expect(statusQuestions - asked).toBe(1);
      expect(takenForFrozen).toEqual([]);
      expect(router.isUnresponsive(address)).toBe(false);
      expect(tookMs).toBeGreaterThanOrEqual(ATTEMPT_TIMEOUT_MS + ANSWER_MS - 50);
    } finally {
      router.close();
    }
  });
});

/**
 * A node that answers nothing. While the router waits for its Status (after an abandoned
 * attempt), the caller's abort ends the call at once rather than after that question's bound; and
 * once it is found unresponsive, the streams watched on it move without another question.
 */
describe('a node that answers nothing, not even its Status', () => {
  const BOUND_MS = 500;
  let silent: grpc.Server;
  let address = '';
  jest.setTimeout(20_000);

  beforeAll(async () => {
    const api = loadPublicApi();
    silent = new grpc.Server();
    // Neither a read nor a Status is ever answered (a frozen process).
    silent.addService(api.leadership.definition, { GetLeader: () => undefined });
    silent.addService(api.cluster.definition, { Status: () => undefined });
    address = await bindLoopback(silent);
  });

  afterAll(() => silent.forceShutdown());

  it('ends a call with CANCELLED as soon as the caller aborts, while the router waits for its Status', async () => {
    const router = routerOf(address, BOUND_MS);
    const controller = new AbortController();
    try {
      const call = router.call(
        'Leadership',
        'GetLeader',
        { scope: 's/1' },
        { leader: false, retryUnanswered: true, signal: controller.signal },
      );
      const outcome = call.then(
        () => 'answered',
        (e: { code?: string }) => e.code,
      );
      // The attempt is abandoned at BOUND_MS and the Status question asked; abort 100 ms into it.
      await new Promise((resolve) => setTimeout(resolve, BOUND_MS + 100));
      const abortedAt = performance.now();
      controller.abort();
      expect(await outcome).toBe('CANCELLED');
      expect(performance.now() - abortedAt).toBeLessThan(BOUND_MS / 2);
    } finally {
      router.close();
    }
  });

  it('moves a stream watched on it as soon as it is found unresponsive, without asking it again', async () => {
    const router = routerOf(address, BOUND_MS);
    try {
      let frozenAt: number | undefined;
      const stop = router.whileStream(address, () => (frozenAt = performance.now()));
      // What a call or a KeepAlive stream does once the node left an attempt and a Status unanswered.
      const markedAt = performance.now();
      router.unresponsive(address);
      await new Promise((resolve) => setTimeout(resolve, 50));
      stop();
      // It used to ask the node once more and wait out that question's bound (BOUND_MS).
      expect(frozenAt).toBeDefined();
      expect(frozenAt! - markedAt).toBeLessThan(50);
    } finally {
      router.close();
    }
  });
});
