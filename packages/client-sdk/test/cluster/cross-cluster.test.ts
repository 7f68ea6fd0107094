import { readFileSync } from 'node:fs';
import type { LocalCluster } from '../../../server/src/index';
import {
  CALM_ELECTION_FLAGS,
  CALM_LEADER_WAIT_MS,
  acquireMany,
  pollUntil,
  useLocalCluster,
} from '../../../server/test/cluster/cluster-helpers';
import { FenceGuard, createClient, isOmniRelayError } from '../../src/index';

const TTL_MS = 60_000;
/** HISTORY_EVENTS is A's watch history (the minimum allowed); FILLER grants push orders/1 out of it. */
const HISTORY_EVENTS = 100;
const FILLER = HISTORY_EVENTS + 10;

interface MirrorBody {
  readonly sourceClusterId: string;
  readonly versionVector: Record<string, number>;
  readonly scopes: {
    scope: string;
    revision: number;
    lastFenceToken: string;
    holder: (Record<string, unknown> & { fenceToken: string }) | null;
  }[];
}

async function acquire(
  cluster: LocalCluster,
  id: string,
  scope: string,
): Promise<{ fence: bigint; revision: number }> {
  const res = await cluster.post(id, '/leadership/acquire', {
    scope,
    candidateId: 'worker',
    leaseTtlMs: TTL_MS,
  });
  const body = res.body as { granted?: boolean; lease?: { fenceToken: string; revision: number } };
  if (res.status !== 200 || body.granted !== true)
    throw new Error(`acquire ${scope}: ${res.status} ${JSON.stringify(res.body)}`);
  return { fence: BigInt(body.lease!.fenceToken), revision: body.lease!.revision };
}

describe('two clusters, B passive following A (2 × 3 real processes)', () => {
  const a = useLocalCluster('xc-a', {
    size: 3,
    // A keeps the fewest events of watch history it allows: after FILLER grants, B's first watch
    // (from revision 1) is COMPACTED and B rebuilds its mirror from a listing of A's holders.
    extraArgs: [
      ...CALM_ELECTION_FLAGS,
      '--cluster-id',
      'cluster-a',
      '--watch-history-events-max',
      String(HISTORY_EVENTS),
    ],
  });
  const b = useLocalCluster('xc-b', {
    size: 3,
    extraArgs: [...CALM_ELECTION_FLAGS, '--cluster-id', 'cluster-b'],
  });
  jest.setTimeout(150_000);

  it('mirrors A on B with a version vector, refuses grants on B naming A, and fences a promoted B above A', async () => {
    const leaderA = await a().waitForLeader(CALM_LEADER_WAIT_MS);
    let leaderB = await b().waitForLeader(CALM_LEADER_WAIT_MS);
    const endpointsA = a().nodes.map((n) => n.grpcAddress);
    const first = await acquire(a(), leaderA, 'orders/1');
    await acquireMany(a(), leaderA, 'filler', FILLER, 4, TTL_MS);

    // B becomes passive and follows A.
    const setLocal = await b().post(leaderB, '/control/clusters', {
      clusterId: 'b',
      region: 'eu-west',
      state: 'passive',
      failoverEpoch: 0,
      endpoints: b().nodes.map((n) => n.grpcAddress),
      reason: 'standby of a',
    });
    expect(setLocal.status).toBe(200);
    const setPeer = await b().post(leaderB, '/control/clusters', {
      local: false,
      clusterId: 'a',
      region: 'us-east',
      state: 'active',
      failoverEpoch: 0,
      endpoints: endpointsA,
      reason: 'primary',
    });
    expect(setPeer.status).toBe(200);

    // A grant on A made before B followed, and one after, both reach B's mirror.
    const second = await acquire(a(), leaderA, 'orders/2');
    const mirror = await pollUntil('both grants in B mirror', async () => {
      const body = (await b().get(leaderB, '/control/mirror?prefix=orders/')).body as MirrorBody;
      return body.scopes.length === 2 && (body.versionVector['a'] ?? 0) >= second.revision ? body : undefined;
    });
    expect(mirror.sourceClusterId).toBe('a');
    expect(mirror.scopes.map((s) => [s.scope, s.revision, s.holder?.fenceToken])).toEqual([
      ['orders/1', first.revision, String(first.fence)],
      ['orders/2', second.revision, String(second.fence)],
    ]);
    // The mirrored holder carries the DISC-002 names, as every public JSON surface does.
    expect(Object.keys(mirror.scopes[0]!.holder ?? {}).sort()).toEqual([
      'fenceToken',
      'grantedAtMs',
      'leaderId',
      'metadata',
      'term',
      'ttlMs',
    ]);
    type Clusters = {
      state: string;
      following: string;
      replication: { status: string; versionVector: Record<string, number>; mirroredScopes: number };
    };
    const clusters = await pollUntil('B streaming from A', async () => {
      const body = (await b().get(leaderB, '/control/clusters')).body as Clusters;
      return body.replication.status === 'streaming' ? body : undefined;
    });
    // orders/1 and the filler were only reachable through the listing (COMPACTED): all are there.
    expect(clusters.replication.mirroredScopes).toBe(FILLER + 2);
    expect(readFileSync(b().node(leaderB).logFile, 'utf8')).toContain('rebuilding the mirror from a listing');
    expect(clusters).toMatchObject({
      state: 'passive',
      following: 'a',
      replication: { status: 'streaming' },
    });
    const metrics = await (await fetch(`http://${b().node(leaderB).clientAddress}/metrics`)).text();
    expect(metrics).toContain('mesh_replication_status{status="streaming"} 1');
    expect(metrics).toMatch(/mesh_replication_lag_seconds \d/);

    // B refuses grants over HTTP (409) and gRPC (FAILED_PRECONDITION), naming A and its endpoints.
    const refused = await b().post(leaderB, '/leadership/acquire', {
      scope: 'orders/1',
      candidateId: 'worker',
      leaseTtlMs: TTL_MS,
    });
    expect(refused.status).toBe(409);
    expect((refused.body as { error: Record<string, string> }).error).toMatchObject({
      code: 'CLUSTER_PASSIVE',
      activeClusterId: 'a',
      activeEndpoints: endpointsA.join(','),
    });
    const sdkB = createClient({ endpoints: b().nodes.map((n) => n.grpcAddress), candidateId: 'worker' });
    try {
      const error = await sdkB.acquire('orders/9', { ttlMs: TTL_MS }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isOmniRelayError(error) && error.code).toBe('CLUSTER_PASSIVE');
      expect((error as Error).message).toContain(endpointsA[0]!);
      // The gRPC refusal names the active cluster in its details (the SDK follows it from there).
      expect(isOmniRelayError(error) && error.details).toMatchObject({
        activeClusterId: 'a',
        activeEndpoints: endpointsA,
      });
    } finally {
      sdkB.close();
    }

    // A leader change on B keeps the mirror (it is in B's log) and resumes from its vector.
    await b().kill(leaderB);
    leaderB = await b().waitForLeader(CALM_LEADER_WAIT_MS);
    const latestA = await (async () => {
      const res = await a().post(leaderA, '/leadership/resign', {
        scope: 'orders/1',
        fenceToken: String(first.fence),
      });
      expect(res.status).toBe(200);
      return acquire(a(), leaderA, 'orders/1');
    })();
    await pollUntil('the re-grant of orders/1 in the mirror of the new B leader', async () => {
      const body = (await b().get(leaderB, '/control/mirror?prefix=orders/1')).body as MirrorBody;
      return body.scopes[0]?.holder?.fenceToken === String(latestA.fence) ? body : undefined;
    });

    // A downstream guard has seen A's latest fence for the scope.
    const guard = new FenceGuard();
    guard.admit('orders/1', latestA.fence);

    // Promotion needs a higher epoch; then B's first fence dominates every fence of A.
    const same = await b().post(leaderB, '/control/clusters', {
      clusterId: 'b',
      state: 'active',
      failoverEpoch: 0,
    });
    expect(same.status).toBe(409);
    expect((same.body as { error: { code: string } }).error.code).toBe('EPOCH_REGRESSION');
    const promoted = await b().post(leaderB, '/control/clusters', {
      clusterId: 'b',
      state: 'active',
      failoverEpoch: 1,
      reason: 'test promotion',
    });
    expect(promoted.status).toBe(200);
    // B inherited A's holder of orders/1 (it may trust its lease for one more TTL): not granted on
    // B, not even to the same candidate, until it ends or that holder resigns it with A's fence.
    const inherited = await b().post(leaderB, '/leadership/acquire', {
      scope: 'orders/1',
      candidateId: 'worker',
      leaseTtlMs: TTL_MS,
    });
    expect((inherited.body as { error: { code: string } }).error.code).toBe('HELD_BY_OTHER_SESSION');
    const resigned = await b().post(leaderB, '/leadership/resign', {
      scope: 'orders/1',
      fenceToken: String(latestA.fence),
    });
    expect(resigned.status).toBe(200);
    const onB = await acquire(b(), leaderB, 'orders/1');
    expect(onB.fence).toBeGreaterThan(latestA.fence);
    expect(onB.fence >> 48n).toBe(1n);
    guard.admit('orders/1', onB.fence);
    expect(() => guard.admit('orders/1', latestA.fence)).toThrow(/fence/i);
    const after = (await b().get(leaderB, '/control/clusters')).body as {
      state: string;
      failoverEpoch: number;
    };
    expect(after).toMatchObject({ state: 'active', failoverEpoch: 1 });

    // A, told of B's promotion, stops granting and sends its clients to B.
    const told = await a().post(leaderA, '/control/clusters', {
      local: false,
      clusterId: 'b',
      state: 'active',
      failoverEpoch: 1,
      endpoints: b().nodes.map((n) => n.grpcAddress),
      reason: 'b promoted',
    });
    expect(told.status).toBe(200);
    const superseded = await a().post(leaderA, '/leadership/acquire', {
      scope: 'orders/7',
      candidateId: 'worker',
      leaseTtlMs: TTL_MS,
    });
    expect(superseded.status).toBe(409);
    expect((superseded.body as { error: Record<string, string> }).error).toMatchObject({
      code: 'CLUSTER_PASSIVE',
      activeClusterId: 'b',
    });
  });
});
