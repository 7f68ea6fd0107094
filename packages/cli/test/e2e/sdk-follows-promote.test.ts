import type { ClusterEvent, Lease, StoppedReason } from '@omnirelay/client-sdk';
import { FenceGuard, LeaderElector, createClient, isOmniRelayError } from '@omnirelay/client-sdk';
import type { LocalCluster } from '@omnirelay/server';
import {
  CALM_ELECTION_FLAGS,
  CALM_LEADER_WAIT_MS,
  pollUntil,
  useLocalCluster,
} from '../../../server/test/cluster/cluster-helpers';
import { runCliInProcess } from '../support/run-cli';

const grpcOf = (cluster: LocalCluster): string[] => cluster.nodes.map((n) => n.grpcAddress);
/** EPOCH_ONE_FENCE_MIN is the lowest fence of failover epoch 1 (docs/cross-cluster.md: epoch · 2^48 + index). */
const EPOCH_ONE_FENCE_MIN = 1n << 48n;
const SCOPE = 'orders/1';
/** WRITE_EVERY_MS is how often each worker writes through the guard while it believes it leads. */
const WRITE_EVERY_MS = 20;
/** TTL_MS is every worker's lease TTL: what a promoted cluster waits before it grants a scope held on A. */
const TTL_MS = 5000;

describe('SDK LeaderElector across a planned promote (2 × 3 real processes)', () => {
  const a = useLocalCluster('follow-a', {
    size: 3,
    extraArgs: [...CALM_ELECTION_FLAGS, '--cluster-id', 'cluster-a'],
  });
  const b = useLocalCluster('follow-b', {
    size: 3,
    extraArgs: [...CALM_ELECTION_FLAGS, '--cluster-id', 'cluster-b'],
  });
  jest.setTimeout(150_000);

  it("keeps a leader, grants on B only once the old holder's lease could have ended, and the guard never admits A after B", async () => {
    await a().waitForLeader(CALM_LEADER_WAIT_MS);
    const leaderB = await b().waitForLeader(CALM_LEADER_WAIT_MS);
    const cli = (cluster: LocalCluster, ...argv: string[]): ReturnType<typeof runCliInProcess> =>
      runCliInProcess(['--endpoints', grpcOf(cluster).join(','), ...argv]);
    const set = ['mesh', 'clusters', 'set'];
    const endpointFlags = (cluster: LocalCluster): string[] =>
      grpcOf(cluster).flatMap((e) => ['--endpoint', e]);
    expect((await cli(a(), ...set, '--id', 'a', '--state', 'active', ...endpointFlags(a()))).code).toBe(0);
    expect((await cli(b(), ...set, '--id', 'b', '--state', 'passive', ...endpointFlags(b()))).code).toBe(0);
    expect(
      (await cli(b(), ...set, '--peer', '--id', 'a', '--state', 'active', ...endpointFlags(a()))).code,
    ).toBe(0);
    await pollUntil('B streaming from A', async () => {
      const body = (await b().get(leaderB, '/control/clusters')).body as { replication: { status: string } };
      return body.replication.status === 'streaming' ? true : undefined;
    });

    // Two workers, each with its own client following {a, b}, write through one guard.
    const guard = new FenceGuard();
    /** admitted lists each write the guard let through: its fence and when (this host's wall clock, as B's stamps). */
    const admitted: { fence: bigint; atMs: number }[] = [];
    const log: string[] = [];
    const events: ClusterEvent[] = [];
    const timers: NodeJS.Timeout[] = [];
    const worker = (id: string): { elector: LeaderElector; close(): void } => {
      const client = createClient({
        clusters: [
          { id: 'a', endpoints: grpcOf(a()) },
          { id: 'b', endpoints: grpcOf(b()) },
        ],
        candidateId: id,
        clusterCheckMs: 500,
        onClusterEvent: (e) => events.push(e),
      });
      let lease: Lease | undefined;
      const elector = new LeaderElector(client, {
        scope: SCOPE,
        ttlMs: TTL_MS,
        onStartedLeading: (l) => {
          lease = l;
          log.push(`${id} started ${l.fence >= EPOCH_ONE_FENCE_MIN ? 'b' : 'a'}`);
        },
        onStoppedLeading: (reason: StoppedReason) => log.push(`${id} stopped ${reason}`),
      }).start();
      timers.push(
        setInterval(() => {
          if (lease === undefined || !lease.isValid()) return;
          try {
            guard.admit(SCOPE, lease.fence);
            admitted.push({ fence: lease.fence, atMs: Date.now() });
          } catch (e) {
            if (!isOmniRelayError(e, 'STALE_FENCE')) throw e;
            log.push(`${id} rejected ${lease.fence}`);
          }
        }, WRITE_EVERY_MS),
      );
      return {
        elector,
        close: () => {
          client.close();
        },
      };
    };
    const workers = [worker('w1'), worker('w2')];
    let promotedAtMs = 0;
    let firstGrantOnBAtMs = 0;
    try {
      await pollUntil('a leader on A', () =>
        Promise.resolve(workers.some((w) => w.elector.isLeader) ? true : undefined),
      );
      expect(events).toContainEqual(expect.objectContaining({ type: 'following', clusterId: 'a' }));

      const run = await cli(b(), 'mesh', 'clusters', 'promote', 'b');
      expect(run.code).toBe(0);

      await pollUntil(
        'a leader on B',
        () =>
          Promise.resolve(
            workers.some((w) => w.elector.isLeader && w.elector.currentLease!.fence >= EPOCH_ONE_FENCE_MIN)
              ? true
              : undefined,
          ),
        60_000,
      );
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'following', clusterId: 'b', previous: 'a', failoverEpoch: 1 }),
      );
      // B's first grant of the scope (the holder it still has: the elector keeps it) and the
      // promotion, both stamped by B.
      const clustersB = (await b().get(leaderB, '/control/clusters')).body as {
        clusters: { local: boolean; changedStampMs: number }[];
      };
      promotedAtMs = clustersB.clusters.find((c) => c.local)!.changedStampMs;
      const held = (await b().get(leaderB, `/control/leaders?scope=${encodeURIComponent(SCOPE)}`)).body as {
        leader: { fenceToken: string; grantedAtMs: number } | null;
      };
      expect(BigInt(held.leader!.fenceToken)).toBeGreaterThanOrEqual(EPOCH_ONE_FENCE_MIN);
      firstGrantOnBAtMs = held.leader!.grantedAtMs;
      // Let both workers write a while under B.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      for (const t of timers) clearInterval(t);
      await Promise.all(workers.map((w) => w.elector.stop().catch(() => undefined)));
      for (const w of workers) w.close();
    }

    // The guard admitted A's fences, then B's, and never an A fence after the first B fence.
    const firstB = admitted.findIndex((w) => w.fence >= EPOCH_ONE_FENCE_MIN);
    expect(firstB).toBeGreaterThan(0);
    expect(admitted.slice(firstB).every((w) => w.fence >= EPOCH_ONE_FENCE_MIN)).toBe(true);
    // B inherited the drained holder of A: it granted the scope only once that holder's lease
    // could have ended (one TTL after the promotion; the Expire entry is stamped at or after the
    // deadline), and no write with an A fence was admitted after B's grant — not even one that the
    // guard took before it saw B's fence.
    expect(firstGrantOnBAtMs).toBeGreaterThanOrEqual(promotedAtMs + TTL_MS);
    expect(admitted.filter((w) => w.fence < EPOCH_ONE_FENCE_MIN && w.atMs >= firstGrantOnBAtMs)).toEqual([]);
    // The worker that led on A stopped before its client campaigned on B: within one client, the
    // old cluster's lease ends before a new one is granted — by the drain (A ends the leases it
    // granted, so the renewal is refused) or by the client's own switch (failover), whichever
    // comes first. (Across clients the guard is what keeps A out: the other worker may win on B first.)
    const leaderOnA = log.find((l) => l.endsWith('started a'))!.split(' ')[0]!;
    const mine = log.filter((l) => l.startsWith(`${leaderOnA} `));
    const startedOnA = mine.indexOf(`${leaderOnA} started a`);
    const stopped = mine.findIndex((l, i) => i > startedOnA && l.startsWith(`${leaderOnA} stopped `));
    expect(stopped).toBeGreaterThan(startedOnA);
    const startedOnB = mine.indexOf(`${leaderOnA} started b`);
    if (startedOnB >= 0) expect(startedOnB).toBeGreaterThan(stopped);
  });
});
