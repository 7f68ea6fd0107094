import type {
  ClusterDescriptorView,
  ClustersView,
  OmniRelayClient,
  SetClusterOptions,
} from '@omnirelay/client-sdk';
import type { CommandContext } from '../../src/context';
import { failback } from '../../src/commands/cluster-emergency';

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
