import { readFileSync } from 'node:fs';
import type { LocalCluster } from '@omnirelay/server';
import {
  CALM_ELECTION_FLAGS,
  CALM_LEADER_WAIT_MS,
  pollUntil,
  useLocalCluster,
} from '../../../server/test/cluster/cluster-helpers';
import { runCliInProcess } from '../support/run-cli';

const grpcOf = (cluster: LocalCluster): string => cluster.nodes.map((n) => n.grpcAddress).join(',');

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
    const cli = (cluster: LocalCluster, ...argv: string[]): ReturnType<typeof runCliInProcess> =>
      runCliInProcess(['--endpoints', grpcOf(cluster), ...argv]);
    const set = ['mesh', 'clusters', 'set'];
    expect(
      (await cli(a(), ...set, '--id', 'a', '--state', 'active', '--endpoint', a().nodes[0]!.grpcAddress))
        .code,
    ).toBe(0);
    expect(
      (await cli(b(), ...set, '--id', 'b', '--state', 'passive', '--endpoint', b().nodes[0]!.grpcAddress))
        .code,
    ).toBe(0);
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
    await pollUntil('B streaming from A', async () => {
      const body = (await b().get(leaderB, '/control/clusters')).body as { replication: { status: string } };
      return body.replication.status === 'streaming' ? true : undefined;
    });

    const run = await cli(b(), 'mesh', 'clusters', 'promote', 'b');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const steps = run.stdout.trim().split('\n');
    expect(steps.map((line) => line.split(':')[1]?.trim())).toEqual([
      'preflight',
      'drain',
      'catch-up',
      'promote',
      'demote',
    ]);
    const correlationId = /correlation id (promote-[0-9a-f-]+)/.exec(steps[0]!)![1]!;
    expect(steps.every((line) => line.includes(correlationId))).toBe(true);

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
});
