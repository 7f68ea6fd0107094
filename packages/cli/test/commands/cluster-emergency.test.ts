import type {
  ClusterDescriptorView,
  ClustersView,
  OmniRelayClient,
  SetClusterOptions,
} from '@omnirelay/client-sdk';
import * as grpc from '@grpc/grpc-js';
import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { loadPublicApi } from '@omnirelay/server';
import type { CliIo } from '../../src/context';
import { CommandContext } from '../../src/context';
import { FORCE_PROBE_TIMEOUT_MS, failback, forcePromote } from '../../src/commands/cluster-emergency';

/** descriptor is a descriptor of `clusterId` as Clusters answers it. */
function descriptor(
  clusterId: string,
  state: string,
  failoverEpoch: number,
  local: boolean,
): ClusterDescriptorView {
  return {
    clusterId,
    region: '',
    priority: 0,
    state,
    failoverEpoch,
    endpoints: [`${clusterId}.example:7301`],
    changedBy: '',
    reason: '',
    changedRevision: 1,
    local,
  };
}

/** viewOf is cluster b's view: its own state and epoch, a's descriptor, and its replication. */
function viewOf(
  state: string,
  epoch: number,
  replication: { status: string; lagSeconds: number },
): ClustersView {
  return {
    clusterId: 'b',
    state,
    failoverEpoch: epoch,
    lastEventRevision: 0,
    following: state === 'active' ? '' : 'a',
    clusters: [descriptor('b', state, epoch, true), descriptor('a', 'active', 2, false)],
    replication: { ...replication, sourceClusterId: 'a', versionVector: { a: 7 }, mirroredScopes: 0 },
    history: [],
  };
}

/** contextAnswering is a CommandContext whose client answers `views` in turn (the last one again) and records descriptor changes. */
function contextAnswering(views: ClustersView[]): {
  ctx: CommandContext;
  changes: SetClusterOptions[];
  out: string[];
} {
  const changes: SetClusterOptions[] = [];
  const out: string[] = [];
  let next = 0;
  const client = {
    clusters: () => Promise.resolve(views[Math.min(next++, views.length - 1)]!),
    setCluster: (options: SetClusterOptions) => {
      changes.push(options);
      return Promise.resolve(views[Math.min(next, views.length - 1)]!);
    },
    recordFailoverStep: () => Promise.resolve({}),
  } as unknown as OmniRelayClient;
  const ctx = {
    output: 'table',
    io: { stdout: (text: string) => out.push(text), stderr: (text: string) => out.push(text), env: {} },
    withClient: <T>(use: (c: OmniRelayClient) => Promise<T>) => use(client),
  } as unknown as CommandContext;
  return { ctx, changes, out };
}

/** refusalOf is the error `attempt` rejects with (it must reject). */
async function refusalOf(attempt: Promise<unknown>): Promise<{ exitCode: number; message: string }> {
  const outcome = await attempt.then(
    () => undefined,
    (e: unknown) => e as { exitCode: number; message: string },
  );
  if (outcome === undefined) throw new Error('expected a refusal');
  return outcome;
}

const OPTIONS = { lagSecondsMax: 5, catchUpMs: 200 };

describe('omnirelay mesh clusters failback', () => {
  it('refuses while replication lags after the stand-down, leaving the cluster passive', async () => {
    const { ctx, changes, out } = contextAnswering([
      viewOf('active', 1, { status: 'idle', lagSeconds: 0 }),
      viewOf('passive', 1, { status: 'streaming', lagSeconds: 12 }),
    ]);
    const refusal = await refusalOf(failback(ctx, 'b', OPTIONS));
    expect(refusal.exitCode).toBe(5);
    expect(refusal.message).toMatch(/replication from a is streaming with a lag of 12 s .*; b stays passive/);
    expect(changes).toEqual([
      expect.objectContaining({ clusterId: 'b', state: 'passive', failoverEpoch: 1 }),
    ]);
    expect(out.join('')).toContain('failback b: stand-down: b was superseded by a');
  });

  it('refuses an active cluster that was not superseded, a draining one, and another cluster', async () => {
    const notSuperseded = viewOf('active', 3, { status: 'idle', lagSeconds: 0 });
    await expect(failback(contextAnswering([notSuperseded]).ctx, 'b', OPTIONS)).rejects.toMatchObject({
      exitCode: 5,
      message: 'cluster b is active and not superseded',
    });
    const draining = viewOf('draining', 1, { status: 'streaming', lagSeconds: 0 });
    const refusal = await refusalOf(failback(contextAnswering([draining]).ctx, 'b', OPTIONS));
    expect(refusal.exitCode).toBe(5);
    expect(refusal.message).toContain('is draining');
    await expect(failback(contextAnswering([draining]).ctx, 'zz', OPTIONS)).rejects.toMatchObject({
      exitCode: 5,
      message: 'the endpoints reach cluster "b", not "zz"',
    });
  });
});

/** listening is a TCP server on 127.0.0.1:0 and its port. */
async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/**
 * ProbingContext is a real CommandContext (its --timeout, its SDK clients) whose own cluster is
 * the fake `target`: only the probe of the active cluster's endpoints goes over the network.
 */
class ProbingContext extends CommandContext {
  constructor(
    io: CliIo,
    private readonly target: OmniRelayClient,
  ) {
    // A --timeout far past Jest's 5 s: a probe that waited it out would fail the test.
    super(io, { endpoints: '127.0.0.1:1', timeout: '600000' });
  }

  override withClient<T>(
    use: (client: OmniRelayClient) => Promise<T>,
    endpoints?: readonly string[],
  ): Promise<T> {
    return endpoints === undefined ? use(this.target) : super.withClient(use, endpoints);
  }
}

/** forcedOn runs promote b --force with a's descriptor naming `endpoints`, and returns its output and changes. */
async function forcedOn(
  endpoints: string[],
): Promise<{ outcome: unknown; out: string[]; changes: SetClusterOptions[] }> {
  const view = viewOf('passive', 2, { status: 'disconnected', lagSeconds: 9 });
  const withEndpoints = { ...view, clusters: view.clusters.map((c) => (c.local ? c : { ...c, endpoints })) };
  const { ctx: fake, changes, out } = contextAnswering([withEndpoints]);
  const target = await fake.withClient((c) => Promise.resolve(c));
  const ctx = new ProbingContext(
    {
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
      env: {},
      now: Date.now,
      onStop: () => () => undefined,
    },
    target,
  );
  const outcome = await forcePromote(ctx, 'b').then(
    (code) => code,
    (e: unknown) => e,
  );
  return { outcome, out, changes };
}

describe('omnirelay mesh clusters promote --force', () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  let refusedEndpoint = '';
  let silentEndpoint = '';
  let answering: grpc.Server | undefined;

  beforeAll(async () => {
    const closed = createServer();
    refusedEndpoint = `127.0.0.1:${await listening(closed)}`;
    await new Promise((resolve) => closed.close(resolve));
    // Accepts connections and never says a word: what a frozen or black-holed node looks like.
    silentEndpoint = `127.0.0.1:${await listening(silent)}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    answering?.forceShutdown();
  });

  it('probes the dead active once at all its endpoints within the probe bound, says so, and promotes', async () => {
    const { outcome, out, changes } = await forcedOn([refusedEndpoint, silentEndpoint]);
    expect(outcome).toBe(0);
    const preflight = out.find((line) => line.startsWith('promote --force b: preflight:'));
    expect(preflight).toContain(
      `b is passive; --force: its active cluster a is expected down and does not answer (probed once at its 2 endpoint(s) within ${FORCE_PROBE_TIMEOUT_MS} ms, none answered: ${refusedEndpoint} UNAVAILABLE: connection refused; ${silentEndpoint} DEADLINE_EXCEEDED: no answer within ${FORCE_PROBE_TIMEOUT_MS} ms)`,
    );
    expect(changes).toEqual([
      expect.objectContaining({ clusterId: 'b', state: 'active', failoverEpoch: 3 }),
      expect.objectContaining({ clusterId: 'a', state: 'passive', failoverEpoch: 2 }),
    ]);
    expect(out.join('')).toContain('promote --force b: done: b is active in failover epoch');
  });

  it('refuses when the active answers at one of its endpoints, naming it and its state', async () => {
    answering = new grpc.Server();
    answering.addService(loadPublicApi().cluster.definition, {
      Clusters: (_call: grpc.ServerUnaryCall<unknown, object>, callback: grpc.sendUnaryData<object>) =>
        callback(null, { clusterId: 'a', state: 'active', failoverEpoch: 2 }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      answering!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e === null ? resolve(p) : reject(e),
      ),
    );
    const { outcome, changes } = await forcedOn([refusedEndpoint, `127.0.0.1:${port}`]);
    expect(outcome).toMatchObject({
      exitCode: 5,
      message: `preflight: the active cluster a answers at 127.0.0.1:${port} (a is active in failover epoch 2); an emergency failover would lose what it has not replicated`,
    });
    expect(changes).toEqual([]);
  });
});
