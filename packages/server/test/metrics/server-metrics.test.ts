import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { register as globalRegistry } from 'prom-client';
import type { OmniRelayServer } from '../../src/index';
import { freePort, loadPublicApi, loadServerConfig, startServer } from '../../src/index';
import type { ServerMetrics } from '../../src/metrics/server-metrics';
import { createServerMetrics } from '../../src/metrics/server-metrics';
import { sampleOf } from './exposition';

/** waitFor polls `check` every 10 ms until it holds, or throws after `timeoutMs` naming `what`. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('createServerMetrics on a single-node server', () => {
  jest.setTimeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-metrics-'));
  let server: OmniRelayServer;
  let metrics: ServerMetrics;
  /** listenersBefore counts the node's own listeners, so stop() can be shown to remove exactly its own. */
  let listenersBefore: { leader: number; persisted: number };

  beforeAll(async () => {
    const config = loadServerConfig(
      [
        '--id',
        'solo',
        '--cluster-id',
        'metrics-test',
        '--data-dir',
        join(dir, 'solo'),
        '--peer-address',
        `127.0.0.1:${await freePort()}`,
        '--client-address',
        `127.0.0.1:${await freePort()}`,
        '--grpc-address',
        `127.0.0.1:${await freePort()}`,
        '--bootstrap-voters',
        'solo',
        '--initial-cluster-state',
        'new',
      ],
      {},
    );
    server = await startServer(config, pino({ level: 'silent' }), 'test');
    await waitFor('the single node to lead', () => server.node.isLeader);
    listenersBefore = {
      leader: server.node.listenerCount('leader'),
      persisted: server.node.listenerCount('persisted'),
    };
    metrics = createServerMetrics({
      node: server.node,
      stateMachine: server.stateMachine,
      hub: server.hub,
      nodeId: 'solo',
    });
  });

  afterAll(async () => {
    metrics.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts grants and resignations, and measures the vacancy between them', async () => {
    const first = await server.service.acquire({ scope: 'metrics/a', candidateId: 'c1', leaseTtlMs: 60_000 });
    if (!first.granted) throw new Error('the first acquire was not granted');
    await server.service.resign('metrics/a', first.lease.fenceToken);
    const second = await server.service.acquire({
      scope: 'metrics/a',
      candidateId: 'c2',
      leaseTtlMs: 60_000,
    });
    expect(second.granted).toBe(true);

    const text = await metrics.render();
    expect(sampleOf(text, 'mesh_leadership_transitions_total', { reason: 'granted' })).toBe(2);
    expect(sampleOf(text, 'mesh_leadership_transitions_total', { reason: 'resigned' })).toBe(1);
    expect(sampleOf(text, 'mesh_leadership_election_duration_ms_count')).toBe(1);
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'overlap' })).toBe(0);
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'fenceRegression' })).toBe(0);
    expect(sampleOf(text, 'omnirelay_leases')).toBe(1);
    expect(sampleOf(text, 'omnirelay_revision')).toBeGreaterThan(0);
  });

  it('reads the Raft status at scrape time and times each fsync', async () => {
    const text = await metrics.render();
    expect(sampleOf(text, 'omnirelay_raft_is_leader')).toBe(1);
    expect(sampleOf(text, 'omnirelay_raft_term')).toBeGreaterThan(0);
    expect(sampleOf(text, 'omnirelay_raft_commit_index')).toBeGreaterThan(0);
    expect(sampleOf(text, 'omnirelay_raft_applied_index')).toBe(server.node.applied);
    expect(sampleOf(text, 'omnirelay_raft_fsync_duration_seconds_count')).toBeGreaterThan(0);
    expect(sampleOf(text, 'omnirelay_raft_entries_persisted_total')).toBeGreaterThan(0);
    expect(sampleOf(text, 'process_cpu_user_seconds_total')).toBeDefined();
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    if (process.env['PRINT_METRICS'] === '1') process.stdout.write(text);
  });

  it('counts event-loop stalls and lists the latest with their length on /status', async () => {
    const before = server.node.status().eventLoopStall.count;
    // Hold the event loop for 120 ms, as a long synchronous task or a GC pause would.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120);
    await waitFor('the tick after the stall', () => server.node.status().eventLoopStall.count > before);
    const stall = server.node.status().eventLoopStall;
    const latest = stall.recent.at(-1)!;
    expect(latest.ms).toBeGreaterThanOrEqual(60);
    expect(Date.now() - Date.parse(latest.at)).toBeLessThan(10_000);
    expect(stall.longestMs).toBeGreaterThanOrEqual(latest.ms);
    const text = await metrics.render();
    expect(sampleOf(text, 'omnirelay_event_loop_stalls_total')).toBeGreaterThanOrEqual(before + 1);
    // The thread was blocked, not waiting for a CPU: Linux counts no run-queue wait for it.
    if (stall.cpuWaitMs !== null) {
      expect(latest.cpuWaitMs).not.toBeNull();
      expect(latest.cpuWaitMs!).toBeLessThan(latest.ms);
      expect(sampleOf(text, 'omnirelay_event_loop_cpu_wait_seconds_total')).toBeCloseTo(
        stall.cpuWaitMs / 1000,
        0,
      );
    }
  });

  it('counts a rejected stale fence as split-brain evidence', async () => {
    metrics.fenceRejected('validate');
    metrics.fenceRejected('validate');
    metrics.fenceRejected('renew');
    const text = await metrics.render();
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'validate' })).toBe(2);
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'renew' })).toBe(1);
  });

  it('counts forwarded requests by edge, both series present from the start', async () => {
    const before = await metrics.render();
    expect(sampleOf(before, 'omnirelay_forwarded_requests_total', { edge: 'grpc' })).toBe(0);
    expect(sampleOf(before, 'omnirelay_forwarded_requests_total', { edge: 'http' })).toBe(0);
    metrics.forwarded('grpc');
    metrics.forwarded('grpc');
    metrics.forwarded('http');
    const after = await metrics.render();
    expect(sampleOf(after, 'omnirelay_forwarded_requests_total', { edge: 'grpc' })).toBe(2);
    expect(sampleOf(after, 'omnirelay_forwarded_requests_total', { edge: 'http' })).toBe(1);
  });

  it('counts lease batches refused for their content by command and refusal, every series present from the start', async () => {
    const before = await metrics.render();
    for (const command of ['renew', 'expire']) {
      for (const refusal of ['split', 'isolated']) {
        expect(sampleOf(before, 'omnirelay_lease_batch_refusals_total', { command, refusal })).toBe(0);
      }
    }
    metrics.leaseBatchRefused('expire', 'split');
    metrics.leaseBatchRefused('expire', 'isolated');
    metrics.leaseBatchRefused('expire', 'split');
    const after = await metrics.render();
    expect(
      sampleOf(after, 'omnirelay_lease_batch_refusals_total', { command: 'expire', refusal: 'split' }),
    ).toBe(2);
    expect(
      sampleOf(after, 'omnirelay_lease_batch_refusals_total', { command: 'expire', refusal: 'isolated' }),
    ).toBe(1);
    expect(
      sampleOf(after, 'omnirelay_lease_batch_refusals_total', { command: 'renew', refusal: 'split' }),
    ).toBe(0);
  });

  it('counts answered requests by edge and status code, and anything else as other', async () => {
    metrics.requestFinished('grpc', 'UNAVAILABLE');
    metrics.requestFinished('http', '503');
    metrics.requestFinished('http', '503');
    metrics.requestFinished('http', 'not-a-status');
    metrics.requestFinished('grpc', 'Unavailable');
    const text = await metrics.render();
    expect(sampleOf(text, 'omnirelay_requests_total', { edge: 'grpc', code: 'OK' })).toBe(0);
    expect(sampleOf(text, 'omnirelay_requests_total', { edge: 'grpc', code: 'UNAVAILABLE' })).toBe(1);
    expect(sampleOf(text, 'omnirelay_requests_total', { edge: 'http', code: '503' })).toBe(2);
    expect(sampleOf(text, 'omnirelay_requests_total', { edge: 'http', code: 'other' })).toBe(1);
    expect(sampleOf(text, 'omnirelay_requests_total', { edge: 'grpc', code: 'other' })).toBe(1);
  });

  it('counts the requests, gRPC calls and proposals of the node itself on its /metrics', async () => {
    const api = loadPublicApi();
    const client = new api.leadership.Client(server.grpcAddress, grpc.credentials.createInsecure());
    try {
      type Unary = (request: object, callback: (e: grpc.ServiceError | null) => void) => void;
      const getLeader = (client as unknown as { GetLeader: Unary }).GetLeader.bind(client);
      const code = await new Promise<grpc.status>((resolveCall) =>
        getLeader({ scope: '' }, (e) => resolveCall(e === null ? grpc.status.OK : e.code)),
      );
      expect(code).toBe(grpc.status.INVALID_ARGUMENT);
      const base = `http://${server.config.clientAddress}`;
      expect((await fetch(`${base}/no-such-route`)).status).toBe(404);
      const lease = await server.service.acquire({
        scope: 'metrics/own',
        candidateId: 'c4',
        leaseTtlMs: 60_000,
      });
      if (!lease.granted) throw new Error('the acquire was not granted');
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(sampleOf(text, 'omnirelay_requests_total', { edge: 'grpc', code: 'INVALID_ARGUMENT' })).toBe(1);
      expect(sampleOf(text, 'omnirelay_requests_total', { edge: 'http', code: '404' })).toBe(1);
      expect(sampleOf(text, 'omnirelay_raft_proposals_total', { result: 'committed' })).toBeGreaterThan(0);
      expect(sampleOf(text, 'omnirelay_raft_proposals_total', { result: 'NO_QUORUM' })).toBe(0);
      expect(sampleOf(text, 'omnirelay_raft_proposal_duration_seconds_count')).toBe(
        sampleOf(text, 'omnirelay_raft_proposals_total', { result: 'committed' }),
      );
    } finally {
      client.close();
    }
  });

  it('has a help text for every metric and never a scope or candidate label', async () => {
    const text = await metrics.render();
    const names = text
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]);
    const helped = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('# HELP '))
        .map((l) => l.split(' ')[2]),
    );
    expect(names.length).toBeGreaterThan(30);
    for (const name of names) expect(helped.has(name)).toBe(true);
    expect(text).not.toMatch(/[{,](scope|candidate|candidateId)=/);
  });

  it('uses a registry of its own, so two instances coexist and the global one stays empty', async () => {
    const other = createServerMetrics({
      node: server.node,
      stateMachine: server.stateMachine,
      hub: server.hub,
      nodeId: 'solo',
    });
    try {
      expect(await other.render()).toContain('omnirelay_raft_term');
      expect(other.contentType).toContain('text/plain');
      expect(await globalRegistry.metrics()).not.toContain('mesh_leadership');
    } finally {
      other.stop();
    }
  });

  it('counts nothing after stop', async () => {
    const before = await metrics.render();
    expect(server.node.listenerCount('persisted')).toBe(listenersBefore.persisted + 1);
    metrics.stop();
    const lease = await server.service.acquire({ scope: 'metrics/b', candidateId: 'c3', leaseTtlMs: 60_000 });
    if (!lease.granted) throw new Error('the acquire after stop was not granted');
    await server.service.resign('metrics/b', lease.lease.fenceToken);
    metrics.fenceRejected('resign');

    const after = await metrics.render();
    for (const [name, labels] of [
      ['mesh_leadership_transitions_total', { reason: 'granted' }],
      ['mesh_leadership_transitions_total', { reason: 'resigned' }],
      ['omnirelay_raft_fsync_duration_seconds_count', {}],
      ['omnirelay_raft_entries_persisted_total', {}],
      ['omnirelay_raft_commit_index', {}],
    ] as const) {
      expect(sampleOf(after, name, labels)).toBe(sampleOf(before, name, labels));
    }
    expect(sampleOf(after, 'mesh_leadership_split_brain_total', { kind: 'resign' })).toBe(0);
    expect(server.node.listenerCount('leader')).toBe(listenersBefore.leader);
    expect(server.node.listenerCount('persisted')).toBe(listenersBefore.persisted);
  });
});
