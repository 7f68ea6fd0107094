import { readFileSync } from 'node:fs';
import type { Lease } from '@omnirelay/client-sdk';
import { createClient, isOmniRelayError } from '@omnirelay/client-sdk';
import type { LocalCluster } from '@omnirelay/server';
import {
  CALM_ELECTION_FLAGS,
  CALM_LEADER_WAIT_MS,
  pollUntil,
  useLocalCluster,
} from '../../../server/test/cluster/cluster-helpers';
import { runCliInProcess } from '../support/run-cli';

const grpcOf = (cluster: LocalCluster): string => cluster.nodes.map((n) => n.grpcAddress).join(',');

/** SDK_TTL_MS is the TTL of the SDK-held lease: it renews about every second, so a drain shows fast. */
const SDK_TTL_MS = 3_000;
/** ABORT_BOUND_MS bounds how long after the drain the SDK lease's signal may take to abort: one TTL. */
const ABORT_BOUND_MS = SDK_TTL_MS;
/** EPOCH_SHIFT is where the failover epoch sits in a fence (docs/cross-cluster.md). */
const EPOCH_SHIFT = 48n;

const cli = (cluster: LocalCluster, ...argv: string[]): ReturnType<typeof runCliInProcess> =>
  runCliInProcess(['--endpoints', grpcOf(cluster), '--timeout', '3000', ...argv]);

/** historyOf is cluster `cluster`'s failover history of workflow `correlationId`, read with the CLI: [step, detail]. */
async function historyOf(cluster: LocalCluster, correlationId: string): Promise<[string, string][]> {
  const run = await cli(
    cluster,
    '--output',
    'json',
    'mesh',
    'clusters',
    'history',
    '--correlation-id',
    correlationId,
  );
  expect(run.code).toBe(0);
  const records = JSON.parse(run.stdout) as {
    step: string;
    detail: string;
    correlationId: string;
    revision: number;
  }[];
  // Ordered by the revision that recorded each.
  expect(records.map((r) => r.revision)).toEqual([...records.map((r) => r.revision)].sort((x, y) => x - y));
  return records.map((r) => [r.step, r.detail]);
}

/**
 * PLANNED_STEPS_ON_TARGET is the history a planned failover leaves in the promoted cluster: the
 * CLI's steps, and the cluster's own records of its promotion and of the old active's demotion.
 */
const PLANNED_STEPS_ON_TARGET = [
  'preflight',
  'drain',
  'catch-up',
  'descriptor',
  'promote',
  'descriptor',
  'demote',
  'done',
];

/** stepsOf is the step names of `history`. */
const stepsOf = (history: [string, string][]): string[] => history.map(([step]) => step);

/**
 * expectInheritedThenResign checks that `scope`, held by `w` with `fence` on the old active, is
 * held by that inherited lease on the promoted `cluster` (another candidate's acquire is not
 * granted), then resigns it with the old fence there, as the old holder may, to free it early.
 */
async function expectInheritedThenResign(
  cluster: LocalCluster,
  id: string,
  scope: string,
  fence: bigint,
): Promise<void> {
  const held = await cluster.post(id, '/leadership/acquire', {
    scope,
    candidateId: 'w2',
    leaseTtlMs: 60_000,
  });
  expect(held.body).toMatchObject({ granted: false, holder: { leaderId: 'w', fenceToken: String(fence) } });
  const resigned = await cluster.post(id, '/leadership/resign', { scope, fenceToken: String(fence) });
  expect(resigned.status).toBe(200);
}

/** errorOf is the JSON error body of a refused HTTP request. */
function errorOf(body: unknown): { code: string; message: string; activeClusterId?: string } {
  return (body as { error: { code: string; message: string; activeClusterId?: string } }).error;
}

describe('omnirelay mesh clusters promote (2 × 3 real processes)', () => {
  const a = useLocalCluster('promote-a', {
    size: 3,
    extraArgs: [...CALM_ELECTION_FLAGS, '--cluster-id', 'cluster-a'],
  });
  const b = useLocalCluster('promote-b', {
    size: 3,
    extraArgs: [...CALM_ELECTION_FLAGS, '--cluster-id', 'cluster-b'],
  });
  jest.setTimeout(150_000);

  it('drains A, waits for B to catch up, raises the epoch and flips both clusters', async () => {
    const leaderA = await a().waitForLeader(CALM_LEADER_WAIT_MS);
    const leaderB = await b().waitForLeader(CALM_LEADER_WAIT_MS);
    const set = ['mesh', 'clusters', 'set'];
    const endpointsOf = (cluster: LocalCluster): string[] =>
      cluster.nodes.flatMap((n) => ['--endpoint', n.grpcAddress]);
    expect((await cli(a(), ...set, '--id', 'a', '--state', 'active', ...endpointsOf(a()))).code).toBe(0);
    expect((await cli(b(), ...set, '--id', 'b', '--state', 'passive', ...endpointsOf(b()))).code).toBe(0);
    const peer = [...set, '--peer', '--id', 'a', '--state', 'active'];
    expect((await cli(b(), ...peer, ...a().nodes.flatMap((n) => ['--endpoint', n.grpcAddress]))).code).toBe(
      0,
    );

    const granted = await a().post(leaderA, '/leadership/acquire', {
      scope: 'orders/1',
      candidateId: 'w',
      leaseTtlMs: 60_000,
    });
    const fenceA = BigInt((granted.body as { lease: { fenceToken: string } }).lease.fenceToken);
    // A holder through the SDK: the drain ends its lease, so its next renewal is refused.
    const sdk = createClient({ endpoints: grpcOf(a()).split(','), callTimeoutMs: 5_000 });
    let lease: Lease | null = null;
    try {
      lease = await sdk.acquire('orders/sdk', { ttlMs: SDK_TTL_MS, candidateId: 'sdk-worker' });
    } finally {
      if (lease === null) sdk.close();
    }
    expect(lease).not.toBeNull();
    let abortedAtMs = 0;
    lease!.signal.addEventListener('abort', () => {
      abortedAtMs = Date.now();
    });
    await pollUntil('B streaming from A', async () => {
      const body = (await b().get(leaderB, '/control/clusters')).body as { replication: { status: string } };
      return body.replication.status === 'streaming' ? true : undefined;
    });

    const run = await cli(b(), 'mesh', 'clusters', 'promote', 'b');
    const promotedAtMs = Date.now();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    try {
      await pollUntil(
        'the SDK lease to abort',
        () => Promise.resolve(abortedAtMs > 0 ? true : undefined),
        ABORT_BOUND_MS,
      );
      expect(abortedAtMs - promotedAtMs).toBeLessThanOrEqual(ABORT_BOUND_MS);
      expect(isOmniRelayError(lease!.signal.reason, 'LEASE_LOST')).toBe(true);
    } finally {
      sdk.close();
    }
    const steps = run.stdout.trim().split('\n');
    expect(steps.map((line) => line.split(':')[1]?.trim())).toEqual([
      'preflight',
      'drain',
      'catch-up',
      'promote',
      'demote',
      'done',
    ]);
    const correlationId = /correlation id (promote-[0-9a-f-]+)/.exec(steps[0]!)![1]!;
    expect(steps.every((line) => line.includes(correlationId))).toBe(true);
    // Every step is a replicated record in both clusters, in order, with the one correlation id;
    // each cluster also recorded its own descriptor changes.
    const historyA = await historyOf(a(), correlationId);
    expect(stepsOf(historyA)).toEqual([
      'preflight',
      'descriptor',
      'drain',
      'catch-up',
      'promote',
      'descriptor',
      'descriptor',
      'demote',
      'done',
    ]);
    expect(historyA[1]![1]).toBe('this cluster a is draining in failover epoch 0');
    expect(historyA[3]![1]).toMatch(/^b holds a up to revision \d+/);
    expect(historyA[6]![1]).toBe('this cluster a is passive in failover epoch 0');
    const historyB = await historyOf(b(), correlationId);
    expect(stepsOf(historyB)).toEqual(PLANNED_STEPS_ON_TARGET);
    expect(historyB[3]![1]).toBe('this cluster b is active in failover epoch 1');
    const table = await cli(b(), 'mesh', 'clusters', 'history');
    expect(table.stdout).toContain(correlationId);

    const viewB = (await b().get(leaderB, '/control/clusters')).body as {
      state: string;
      failoverEpoch: number;
    };
    expect(viewB).toMatchObject({ state: 'active', failoverEpoch: 1 });
    const viewA = (await a().get(leaderA, '/control/clusters')).body as { state: string; following: string };
    expect(viewA).toMatchObject({ state: 'passive', following: 'b' });
    expect(readFileSync(a().node(leaderA).logFile, 'utf8')).toContain(correlationId);

    // A refuses grants and names B; B's first fence dominates A's; A mirrors B's grant.
    const refused = await a().post(leaderA, '/leadership/acquire', {
      scope: 'orders/2',
      candidateId: 'w',
      leaseTtlMs: 60_000,
    });
    expect((refused.body as { error: { code: string; activeClusterId: string } }).error).toMatchObject({
      code: 'CLUSTER_PASSIVE',
      activeClusterId: 'b',
    });
    // B inherited A's drained holder of orders/1 (it may still trust its lease for one TTL): no
    // one gets the scope on B until then, unless that holder resigns it with A's fence.
    await expectInheritedThenResign(b(), leaderB, 'orders/1', fenceA);
    const onB = await b().post(leaderB, '/leadership/acquire', {
      scope: 'orders/1',
      candidateId: 'w',
      leaseTtlMs: 60_000,
    });
    const fenceB = BigInt((onB.body as { lease: { fenceToken: string } }).lease.fenceToken);
    expect(fenceB).toBeGreaterThan(fenceA);
    await pollUntil("B's grant in A's mirror", async () => {
      const body = (await a().get(leaderA, '/control/mirror?prefix=orders/1')).body as {
        scopes: { holder: { fenceToken: string } | null }[];
      };
      return body.scopes[0]?.holder?.fenceToken === String(fenceB) ? true : undefined;
    });
  });
  it('promotes A with --force while every node of B is down, and B, restarted, learns it was demoted and fails back', async () => {
    const leaderA = await a().waitForLeader(CALM_LEADER_WAIT_MS);
    const leaderB = await b().waitForLeader(CALM_LEADER_WAIT_MS);
    const onB = await b().post(leaderB, '/leadership/acquire', {
      scope: 'orders/3',
      candidateId: 'w',
      leaseTtlMs: 60_000,
    });
    const fenceB = BigInt((onB.body as { lease: { fenceToken: string } }).lease.fenceToken);

    // Bad inputs: an unknown id, a --force while B answers, a failback of a cluster that is active.
    const unknown = await cli(a(), 'mesh', 'clusters', 'promote', 'zz', '--force');
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('not "zz"');
    const reachable = await cli(a(), 'mesh', 'clusters', 'promote', 'a', '--force');
    expect(reachable.code).toBe(5);
    expect(reachable.stderr).toContain('answers');
    const notSuperseded = await cli(b(), 'mesh', 'clusters', 'failback', 'b');
    expect(notSuperseded.code).toBe(5);
    expect(notSuperseded.stderr).toContain('not superseded');

    await pollUntil("B's grant in A's mirror", async () => {
      const body = (await a().get(leaderA, '/control/mirror?prefix=orders/3')).body as {
        scopes: { holder: { fenceToken: string } | null }[];
      };
      return body.scopes[0]?.holder?.fenceToken === String(fenceB) ? true : undefined;
    });
    for (const n of b().nodes) await b().kill(n.id, 'SIGKILL');
    const forced = await cli(a(), 'mesh', 'clusters', 'promote', 'a', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(
      /^warning: the mirror holds b up to revision \d+, .* how many there were is unknown/,
    );
    const steps = forced.stdout.trim().split('\n');
    expect(steps.map((line) => line.split(':')[1]?.trim())).toEqual([
      'preflight',
      'warning',
      'promote',
      'record',
      'done',
    ]);
    // The emergency's steps are records in A (B is down), the warning with its figure.
    const forcedId = /correlation id (promote-force-[0-9a-f-]+)/.exec(steps[0]!)![1]!;
    const forcedHistory = await historyOf(a(), forcedId);
    expect(stepsOf(forcedHistory)).toEqual([
      'preflight',
      'warning',
      'descriptor',
      'promote',
      'descriptor',
      'record',
      'done',
    ]);
    expect(forcedHistory[1]![1]).toMatch(
      /^the mirror holds b up to revision \d+, .*after revision \d+ is lost to a/,
    );
    const viewA = (await a().get(leaderA, '/control/clusters')).body as {
      state: string;
      failoverEpoch: number;
    };
    expect(viewA).toMatchObject({ state: 'active', failoverEpoch: 2 });

    // A inherited B's holder of orders/3 (a holder of the dead B may trust its lease until its last
    // renewal + TTL): it is not granted until then, or until that holder resigns it.
    await expectInheritedThenResign(a(), leaderA, 'orders/3', fenceB);
    // A's first fence dominates every fence B granted.
    const first = await a().post(leaderA, '/leadership/acquire', {
      scope: 'orders/3',
      candidateId: 'w',
      leaseTtlMs: 60_000,
    });
    const fenceA = BigInt((first.body as { lease: { fenceToken: string } }).lease.fenceToken);
    expect(fenceA >> EPOCH_SHIFT).toBe(2n);
    expect(fenceA).toBeGreaterThan(fenceB);

    // B comes back on its own: it asks A for A's descriptor, learns of epoch 2 and grants nothing.
    for (const n of b().nodes) b().start(n.id);
    const restartedB = await b().waitForLeader(CALM_LEADER_WAIT_MS);
    // Until it learns, B still grants in its epoch (fences A dominates); each try takes a new scope.
    let attempt = 0;
    const refusal = await pollUntil(
      'B to learn it was demoted',
      async () => {
        const res = await b().post(restartedB, '/leadership/acquire', {
          scope: `orders/4-${attempt++}`,
          candidateId: 'w',
          leaseTtlMs: 60_000,
        });
        return res.status === 409 ? errorOf(res.body) : undefined;
      },
      30_000,
      250,
    );
    expect(refusal).toMatchObject({ code: 'CLUSTER_PASSIVE', activeClusterId: 'a' });
    expect(refusal.message).toContain('superseded');

    // Failback: B stands down, follows A, catches up, and the planned failover makes it active again.
    const back = await cli(b(), 'mesh', 'clusters', 'failback', 'b', '--catch-up-ms', '20000');
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    const backSteps = back.stdout.trim().split('\n');
    expect(backSteps.map((line) => line.split(':')[1]?.trim())).toEqual([
      'stand-down',
      'replicating',
      'preflight',
      'drain',
      'catch-up',
      'promote',
      'demote',
      'done',
    ]);
    const correlationId = /correlation id (failback-[0-9a-f-]+)/.exec(backSteps[0]!)![1]!;
    expect(backSteps.every((line) => line.includes(correlationId))).toBe(true);
    expect(stepsOf(await historyOf(b(), correlationId))).toEqual([
      'descriptor',
      'stand-down',
      'replicating',
      ...PLANNED_STEPS_ON_TARGET,
    ]);
    const viewB = (await b().get(restartedB, '/control/clusters')).body as {
      state: string;
      failoverEpoch: number;
    };
    expect(viewB).toMatchObject({ state: 'active', failoverEpoch: 3 });
    const leaderAAfter = await a().waitForLeader(CALM_LEADER_WAIT_MS);
    const demotedA = (await a().get(leaderAAfter, '/control/clusters')).body as {
      state: string;
      following: string;
    };
    expect(demotedA).toMatchObject({ state: 'passive', following: 'b' });
  });
});
