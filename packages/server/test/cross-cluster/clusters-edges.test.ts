import * as grpc from '@grpc/grpc-js';
import type { Solo } from '../grpc/grpc-test-helpers';
import {
  StreamReader,
  errorCodeOf,
  failureOf,
  openCampaign,
  startSolo,
  unary,
} from '../grpc/grpc-test-helpers';

/** post sends a JSON body to the solo node's client port. */
async function post(
  solo: Solo,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${solo.server.config.clientAddress}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(solo: Solo, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${solo.server.config.clientAddress}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const errorOf = (body: Record<string, unknown>): Record<string, unknown> =>
  body['error'] as Record<string, unknown>;

describe('the cluster descriptor edges (one node)', () => {
  jest.setTimeout(30_000);
  let solo: Solo;

  beforeAll(async () => {
    solo = await startSolo();
  });

  afterAll(async () => {
    await solo.stop();
  });

  it('shows a node without a descriptor as active in epoch 0, over HTTP and gRPC', async () => {
    const http = await get(solo, '/control/clusters');
    expect(http.status).toBe(200);
    expect(http.body).toMatchObject({
      clusterId: '',
      state: 'active',
      failoverEpoch: 0,
      following: '',
      clusters: [],
      replication: { status: 'idle', lagSeconds: 0, versionVector: {} },
    });
    const wire = await unary(solo.cluster, 'Clusters', {});
    expect(wire).toMatchObject({ clusterId: '', state: 'active', failoverEpoch: 0, clusters: [] });
  });

  it('refuses bad descriptor bodies with 400 naming the field, before anything is replicated', async () => {
    const cases: [unknown, string][] = [
      [{ clusterId: 'a', state: 'standby' }, 'state'],
      [{ clusterId: 'a b', state: 'active' }, 'clusterId'],
      [{ clusterId: 'a', state: 'active', failoverEpoch: 65_536 }, 'failoverEpoch'],
      [{ clusterId: 'a', state: 'active', endpoints: 'h:1' }, 'endpoints'],
      [{ clusterId: 'a', state: 'active', local: 'yes' }, 'local'],
      [{ clusterId: 'a', state: 'active', colour: 'red' }, 'colour'],
      [{ state: 'active' }, 'clusterId'],
    ];
    const before = solo.server.node.status().commit;
    for (const [body, field] of cases) {
      const res = await post(solo, '/control/clusters', body);
      expect([res.status, errorOf(res.body)['code'], errorOf(res.body)['field']]).toEqual([
        400,
        'INVALID_ARGUMENT',
        field,
      ]);
    }
    expect(solo.server.node.status().commit).toBe(before);
    expect((await get(solo, '/control/mirror?limit=0')).status).toBe(400);
  });

  it('ends a queued campaign with CLUSTER_PASSIVE when its cluster stops being active', async () => {
    const held = await post(solo, '/leadership/acquire', {
      scope: 'queued',
      candidateId: 'h',
      leaseTtlMs: 60_000,
    });
    expect(held.status).toBe(200);
    const reader = new StreamReader(
      openCampaign(solo.leadership, { scope: 'queued', candidateId: 'w', leaseTtlMs: 5_000, priority: 0 }),
    );
    expect((await reader.next())['queued']).toBeTruthy();
    const drained = await post(solo, '/control/clusters', {
      clusterId: 'b',
      state: 'draining',
      reason: 'drill',
    });
    expect((drained.body['descriptor'] as { state: string }).state).toBe('draining');
    const { error } = await reader.end();
    expect(error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error === null || error === undefined ? undefined : errorCodeOf(error)).toBe('CLUSTER_PASSIVE');
  });

  it('refuses grants once passive, naming the active peer, and refuses a promotion without a higher epoch', async () => {
    expect(
      (await post(solo, '/control/clusters', { clusterId: 'b', state: 'passive', reason: 'drill' })).status,
    ).toBe(200);
    const peer = await unary(solo.cluster, 'SetCluster', {
      peer: true,
      clusterId: 'a',
      state: 'active',
      endpoints: ['127.0.0.1:1'],
    });
    expect(peer).toMatchObject({ clusterId: 'b', state: 'passive', following: 'a' });

    const http = await post(solo, '/leadership/acquire', { scope: 'x', candidateId: 'c', leaseTtlMs: 5_000 });
    expect(http.status).toBe(409);
    expect(errorOf(http.body)).toMatchObject({
      code: 'CLUSTER_PASSIVE',
      activeClusterId: 'a',
      activeEndpoints: '127.0.0.1:1',
    });
    const call = await failureOf(
      unary(solo.leadership, 'Acquire', { scope: 'x', candidateId: 'c', leaseTtlMs: 5_000 }),
    );
    expect(call.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorCodeOf(call)).toBe('CLUSTER_PASSIVE');
    expect(call.details).toContain('send it to the active cluster "a" (127.0.0.1:1)');

    const regress = await post(solo, '/control/clusters', {
      clusterId: 'b',
      state: 'active',
      failoverEpoch: 0,
    });
    expect([regress.status, errorOf(regress.body)['code']]).toEqual([409, 'EPOCH_REGRESSION']);
    const promoted = await unary(solo.cluster, 'SetCluster', {
      clusterId: 'b',
      state: 'active',
      failoverEpoch: 1,
    });
    expect(promoted).toMatchObject({ state: 'active', failoverEpoch: 1, following: '' });
    const granted = await post(solo, '/leadership/acquire', {
      scope: 'x',
      candidateId: 'c',
      leaseTtlMs: 5_000,
    });
    expect(granted.status).toBe(200);
    const lease = granted.body['lease'] as { fenceToken: string; revision: number };
    expect(BigInt(lease.fenceToken)).toBe((1n << 48n) + BigInt(lease.revision));
  });
});
