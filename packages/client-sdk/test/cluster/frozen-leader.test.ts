import { performance } from 'node:perf_hooks';
import { useLocalCluster } from '../../../server/test/cluster/cluster-helpers';
import type { LeadershipEvent, Lease, OmniRelayClient, RenewalEvent } from '../../src/index';
import { createClient } from '../../src/index';
import { sleep, waitFor } from '../support/solo';
import { startTcpProxy } from '../support/tcp-proxy';

/** historyOf collects the events under `prefix` from `fromRevision` until `done` holds (bounded by waitFor). */
async function historyOf(
  client: OmniRelayClient,
  prefix: string,
  fromRevision: bigint,
  done: (events: readonly LeadershipEvent[]) => boolean,
): Promise<LeadershipEvent[]> {
  const controller = new AbortController();
  const events: LeadershipEvent[] = [];
  const watching = (async () => {
    for await (const e of client.watch(prefix, { fromRevision, signal: controller.signal })) events.push(e);
  })().catch(() => undefined);
  try {
    await waitFor(`the history under ${prefix}`, () => done(events));
    await sleep(300); // a duplicate would arrive right behind
  } finally {
    controller.abort();
    await watching;
  }
  return events;
}

/** ELECTION_TIMEOUT_MS is the nodes' --election-timeout-ms (generous for 2 loaded cores). */
const ELECTION_TIMEOUT_MS = 1500;
/** ATTEMPT_TIMEOUT_MS is the client's attemptTimeoutMs (its default). */
const ATTEMPT_TIMEOUT_MS = 1000;
/**
 * CALL_TIMEOUT_MS is the client's call timeout: long, so a call that waits it out on the frozen
 * leader (the bug) is told apart from one that moved on to the new leader.
 */
const CALL_TIMEOUT_MS = 12_000;
/**
 * TTL_MS makes the renewal interval ((TTL − skew) / 3, about 13 s) longer than the call timeout:
 * only the silence check can move the KeepAlive stream off the frozen leader in time.
 */
const TTL_MS = 40_000;
/**
 * FAILOVER_BOUND_MS bounds each call from the freeze: a new leader within two election timeouts
 * (randomized timeout plus a pre-vote round), an attempt abandoned on the frozen node and its
 * Status question, and room for a loaded machine. Far below the call timeout.
 */
const FAILOVER_BOUND_MS = 2 * ELECTION_TIMEOUT_MS + 2 * ATTEMPT_TIMEOUT_MS + 2000;

describe('a Raft leader frozen with SIGSTOP (3 real processes)', () => {
  const cluster = useLocalCluster('sdk-frozen-leader', {
    size: 3,
    extraArgs: ['--election-timeout-ms', String(ELECTION_TIMEOUT_MS), '--heartbeat-ms', '150'],
  });
  jest.setTimeout(90_000);

  it('gets back the lease an abandoned acquire won, with its fence, when the reply was lost after the cluster applied it', async () => {
    const leaderId = await cluster().waitForLeader();
    const leader = cluster().node(leaderId);
    const followers = cluster().nodes.filter((n) => n.id !== leaderId);
    // The client reaches the leader only through a proxy that will drop every reply.
    const proxy = await startTcpProxy(leader.grpcAddress);
    const renewals: RenewalEvent[] = [];
    const client = createClient({
      endpoints: [proxy.address, ...followers.map((n) => n.grpcAddress)],
      candidateId: 'worker',
      callTimeoutMs: CALL_TIMEOUT_MS,
      onRenewal: (e) => renewals.push(e),
    });
    const observer = createClient({ endpoints: cluster().nodes.map((n) => n.grpcAddress) });
    try {
      const before = (await client.acquire('lost/before', { ttlMs: TTL_MS }))!;
      await before.resign();
      proxy.muteReplies();
      const lease = await client.acquire('lost/a', { ttlMs: TTL_MS });

      // The first attempt was applied (the leader got it), its reply dropped: the retry through a
      // follower found this session holding the scope (alreadyHolder), which the SDK confirms with
      // a renewal before it hands the lease out. One grant, one fence.
      expect(lease).not.toBeNull();
      expect(renewals.some((e) => e.scope === 'lost/a' && e.type === 'renewed')).toBe(true);
      const view = await observer.getLeader('lost/a');
      expect(view?.fence).toBe(lease!.fence);
      expect(view?.sessionId).toBe(client.sessionId);
      const events = await historyOf(observer, 'lost/', before.revision, (es) =>
        es.some((e) => e.scope === 'lost/a'),
      );
      expect(events.filter((e) => e.scope === 'lost/a').map((e) => [e.reason, e.holder?.fence])).toEqual([
        ['granted', lease!.fence],
      ]);

      // Renewals and resign go on through the follower while the leader's address stays silent.
      await client.renew(lease!);
      expect(lease!.isValid()).toBe(true);
      expect(await lease!.resign()).toBe(true);
      expect(await observer.getLeader('lost/a')).toBeNull();
    } finally {
      client.close();
      observer.close();
      await proxy.close();
    }
  });

  it('serves acquire, campaign, renew, resign and reads through the new leader well before the call timeout, each with one outcome', async () => {
    const oldLeader = await cluster().waitForLeader();
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const client = createClient({ endpoints, candidateId: 'worker', callTimeoutMs: CALL_TIMEOUT_MS });
    const observer = createClient({ endpoints, callTimeoutMs: CALL_TIMEOUT_MS });
    const pid = cluster().node(oldLeader).process!.pid!;
    const controller = new AbortController();
    const events: LeadershipEvent[] = [];
    let frozen = false;
    try {
      const held = (await client.acquire('frozen/held', { ttlMs: TTL_MS }))!;
      const leaving = (await client.acquire('frozen/leaving', { ttlMs: TTL_MS }))!;
      const fromRevision = leaving.revision;
      await client.getLeader('frozen/held'); // the client knows the leader

      // Every call starts just before the freeze: each attempt may or may not reach the leader
      // and may or may not be committed by the next one. Whatever happened, each call must end
      // in one outcome.
      const started = performance.now();
      const timed = <T>(p: Promise<T>): Promise<{ value: T; ms: number }> =>
        p.then((value) => ({ value, ms: performance.now() - started }));
      const calls = {
        acquires: [0, 1, 2, 3].map((i) => timed(client.acquire(`frozen/a${i}`, { ttlMs: TTL_MS }))),
        campaign: timed(client.campaign('frozen/c0', { ttlMs: TTL_MS })),
        renew: timed(client.renew(held)),
        resign: timed(leaving.resign()),
        read: timed(client.validateFence('frozen/held', held.fence)),
      };
      await sleep(2);
      process.kill(pid, 'SIGSTOP');
      frozen = true;
      const frozenAt = performance.now();
      // A call made well into the freeze, while the old leader is still the one the followers name.
      await sleep(500);
      const late = await timed(client.getLeader('frozen/held'));

      const acquires = await Promise.all(calls.acquires);
      const campaign = await calls.campaign;
      const renew = await calls.renew;
      const resign = await calls.resign;
      const read = await calls.read;
      const bound = frozenAt - started + FAILOVER_BOUND_MS;
      const timings = [...acquires.map((a) => a.ms), campaign.ms, renew.ms, resign.ms, read.ms, late.ms];
      process.stderr.write(
        `frozen leader: calls finished ${timings.map((ms) => Math.round(ms)).join(', ')} ms after they started (bound ${Math.round(bound)} ms)\n`,
      );
      for (const ms of timings) expect(ms).toBeLessThan(bound);
      const newLeader = await cluster()
        .waitForLeader(10_000)
        .catch(() => undefined);
      expect(newLeader).not.toBe(oldLeader);

      // The lease held through the freeze is kept: never ended, same fence, valid on the cluster.
      expect(held.endedReason).toBeUndefined();
      expect(held.isValid()).toBe(true);
      expect(read.value.valid).toBe(true);
      expect(late.value?.fence).toBe(held.fence);
      expect(typeof resign.value).toBe('boolean');
      expect(leaving.endedReason).toBe('resigned');

      // Each grant is the one the cluster holds for this session: a retried attempt got the
      // lease back (same fence), never a second one.
      const granted: Lease[] = [...acquires.map((a) => a.value!), campaign.value];
      for (const lease of granted) {
        expect(lease).not.toBeNull();
        const view = await observer.getLeader(lease.scope);
        expect(view?.fence).toBe(lease.fence);
        expect(view?.sessionId).toBe(client.sessionId);
        expect(lease.isValid()).toBe(true);
      }
      expect(await observer.getLeader('frozen/leaving')).toBeNull();

      // The history has exactly one grant per scope and no other change but the resignation.
      process.kill(pid, 'SIGCONT');
      frozen = false;
      const watching = (async () => {
        for await (const e of observer.watch('frozen/', { fromRevision, signal: controller.signal })) {
          events.push(e);
        }
      })().catch(() => undefined);
      const scopes = granted.map((l) => l.scope);
      await waitFor('the history of every scope', () =>
        scopes.every((s) => events.some((e) => e.scope === s && e.holder !== null)),
      );
      await sleep(300); // a duplicate grant would arrive right behind
      for (const scope of scopes) {
        expect(events.filter((e) => e.scope === scope).map((e) => e.reason)).toEqual(['granted']);
      }
      expect(events.filter((e) => e.scope === 'frozen/held')).toEqual([]);
      expect(
        events.filter((e) => e.scope === 'frozen/leaving' && e.revision > fromRevision).map((e) => e.reason),
      ).toEqual(['resigned']);
      controller.abort();
      await watching;
    } finally {
      controller.abort();
      if (frozen) process.kill(pid, 'SIGCONT');
      client.close();
      observer.close();
    }
  });
});
