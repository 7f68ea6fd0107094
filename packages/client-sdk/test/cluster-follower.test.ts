import type { ClusterEndpoints, ClusterEvent } from '../src/cluster-follower';
import { ClusterFollower, chooseActive } from '../src/cluster-follower';
import type { ClustersView } from '../src/clusters';
import { OmniRelayError, createClient, isOmniRelayError } from '../src/index';

/** view is a ClustersView of `clusterId` in `state` at `epoch`, knowing `peers` (id, state, epoch). */
function view(
  clusterId: string,
  state: string,
  epoch: number,
  peers: readonly [string, string, number][] = [],
): ClustersView {
  const descriptor = (
    id: string,
    s: string,
    e: number,
    local: boolean,
  ): ClustersView['clusters'][number] => ({
    clusterId: id,
    region: '',
    priority: 0,
    state: s,
    failoverEpoch: e,
    endpoints: [],
    changedBy: '',
    reason: '',
    changedRevision: 0,
    local,
  });
  return {
    clusterId,
    state,
    failoverEpoch: epoch,
    lastEventRevision: 0,
    following: '',
    clusters: [
      descriptor(clusterId, state, epoch, true),
      ...peers.map(([id, s, e]) => descriptor(id, s, e, false)),
    ],
    replication: { status: 'idle', lagSeconds: 0, sourceClusterId: '', versionVector: {}, mirroredScopes: 0 },
    history: [],
  };
}

const A: ClusterEndpoints = { id: 'a', endpoints: ['127.0.0.1:1'] };
const B: ClusterEndpoints = { id: 'b', endpoints: ['127.0.0.1:2'] };

/** Fake is a scriptable group of clusters: each id answers its view, or fails when absent. */
class Fake {
  readonly views = new Map<string, ClustersView>();
  readonly probes: string[] = [];
  readonly switches: string[] = [];
  readonly events: ClusterEvent[] = [];
  /** started sets the views of a and b and resolves to a follower after its first round. */
  async started(a: ClustersView, b: ClustersView): Promise<ClusterFollower> {
    this.views.set('a', a);
    this.views.set('b', b);
    const follower = this.follower();
    await follower.ready();
    return follower;
  }

  follower(clusters: readonly ClusterEndpoints[] = [A, B]): ClusterFollower {
    return new ClusterFollower({
      clusters,
      probe: (cluster) => {
        this.probes.push(cluster.id);
        const v = this.views.get(cluster.id);
        return v === undefined
          ? Promise.reject(new OmniRelayError('UNAVAILABLE', `${cluster.id} is down`))
          : Promise.resolve(v);
      },
      switchTo: (cluster) => this.switches.push(cluster.id),
      // The periodic check never fires within a test: rounds are driven by reprobe and hint.
      checkIntervalMs: 3_600_000,
      backoffBaseMs: 1,
      backoffMaxMs: 2,
      onEvent: (e) => this.events.push(e),
    });
  }
}

describe('chooseActive', () => {
  it('picks the active cluster at the highest failover epoch', () => {
    const answers = new Map([
      ['a', view('a', 'active', 0)],
      ['b', view('b', 'active', 2)],
      ['c', view('c', 'passive', 3)],
    ]);
    expect(chooseActive(answers, 'a')).toEqual({ clusterId: 'b', failoverEpoch: 2 });
  });

  it('never picks a cluster that knows an active peer at a higher epoch (superseded)', () => {
    // Mixed state: both say active; a learned of b's promotion, b is the one.
    const answers = new Map([
      ['a', view('a', 'active', 5, [['b', 'active', 6]])],
      ['b', view('b', 'active', 4)],
    ]);
    expect(chooseActive(answers, 'a')).toEqual({ clusterId: 'b', failoverEpoch: 4 });
  });

  it('keeps the current cluster on a tie and answers undefined when nothing is active', () => {
    const tie = new Map([
      ['a', view('a', 'active', 1)],
      ['b', view('b', 'active', 1)],
    ]);
    expect(chooseActive(tie, 'b')?.clusterId).toBe('b');
    expect(chooseActive(new Map([['a', view('a', 'draining', 1)]]), 'a')).toBeUndefined();
  });
});

describe('ClusterFollower', () => {
  it('follows the active cluster found by the first probe round', async () => {
    const fake = new Fake();
    const follower = await fake.started(
      view('a', 'passive', 0, [['b', 'active', 0]]),
      view('b', 'active', 0),
    );
    expect(follower.activeClusterId).toBe('b');
    expect(fake.switches).toEqual(['b']);
    expect(fake.events).toContainEqual(
      expect.objectContaining({ type: 'following', clusterId: 'b', previous: undefined, reason: 'start' }),
    );
    follower.close();
  });

  it('moves when the followed cluster is demoted, and bumps the generation', async () => {
    const fake = new Fake();
    const follower = await fake.started(view('a', 'active', 0), view('b', 'passive', 0));
    const before = follower.generation;
    expect(await follower.reprobe('nothing changed')).toBe(false);
    fake.views.set('a', view('a', 'passive', 0, [['b', 'active', 1]]));
    fake.views.set('b', view('b', 'active', 1));
    expect(await follower.reprobe('periodic check')).toBe(true);
    expect(follower.activeClusterId).toBe('b');
    expect(follower.generation).toBe(before + 1);
    expect(fake.switches).toEqual(['a', 'b']);
    follower.close();
  });

  it('keeps an unreachable cluster until another one is promoted above it', async () => {
    const fake = new Fake();
    const follower = await fake.started(view('a', 'active', 3), view('b', 'passive', 3));
    fake.views.delete('a'); // kill -9 of every node of a
    expect(await follower.reprobe('UNAVAILABLE')).toBe(false);
    expect(follower.activeClusterId).toBe('a');
    expect(fake.events.some((e) => e.type === 'probe-failed' && e.clusterId === 'a')).toBe(true);
    // An emergency promotion of b (mesh clusters set --state active --failover-epoch 4).
    fake.views.set('b', view('b', 'active', 4));
    await new Promise((resolve) => setTimeout(resolve, 10)); // past the 2 ms backoff cap
    expect(await follower.reprobe('UNAVAILABLE')).toBe(true);
    expect(follower.activeClusterId).toBe('b');
    follower.close();
  });

  it('never moves to an active cluster at a lower epoch while the followed one is only unreachable', async () => {
    const fake = new Fake();
    const follower = await fake.started(view('a', 'active', 3), view('b', 'active', 2));
    expect(follower.activeClusterId).toBe('a');
    fake.views.delete('a');
    expect(await follower.reprobe('UNAVAILABLE')).toBe(false);
    expect(follower.activeClusterId).toBe('a');
    follower.close();
  });

  it('shares one round among concurrent callers and backs off after rounds that find nothing', async () => {
    const fake = new Fake();
    const follower = fake.follower(); // nothing answers
    await follower.ready();
    expect(fake.events).toContainEqual({ type: 'no-active', reason: 'start' });
    const probesAfterStart = fake.probes.length;
    // Within the backoff, a reprobe asks nobody.
    await Promise.all([follower.reprobe('x'), follower.reprobe('y')]);
    expect(fake.probes.length).toBeLessThanOrEqual(probesAfterStart + 2);
    follower.close();
  });

  it('adds the active cluster a refusal named when it was not configured, after a probe confirms it', async () => {
    const fake = new Fake();
    fake.views.set('a', view('a', 'passive', 0));
    const follower = fake.follower([A]);
    await follower.ready();
    expect(follower.activeClusterId).toBeUndefined();
    fake.views.set('c', view('c', 'active', 1));
    expect(await follower.hint('c', ['127.0.0.1:3'])).toBe(true);
    expect(follower.activeClusterId).toBe('c');
    follower.close();
  });
});

describe('createClient({ clusters })', () => {
  it('refuses bad cluster lists with INVALID_ARGUMENT', () => {
    const bad: unknown[] = [
      { clusters: [] },
      { clusters: [A, { id: 'a', endpoints: ['127.0.0.1:9'] }] },
      { clusters: [{ id: '', endpoints: ['127.0.0.1:9'] }] },
      { clusters: [{ id: 'x', endpoints: [] }] },
      { clusters: [{ id: 'x', endpoints: ['no-port'] }] },
      { clusters: [A], endpoints: ['127.0.0.1:9'] },
      {},
      { clusters: [A], clusterCheckMs: 0 },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        createClient(options as Parameters<typeof createClient>[0]).close();
      } catch (e) {
        error = e;
      }
      expect(isOmniRelayError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
