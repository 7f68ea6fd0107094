import type { ApplyResult, MirrorChange, SetClusterCommand } from '@omnirelay/leadership-fsm';
import {
  FAILOVER_EPOCH_MAX,
  FENCE_INDEX_MAX,
  LeadershipFsm,
  SNAPSHOT_FORMAT,
  SNAPSHOT_FORMAT_CLUSTER,
  encodeCommand,
  fenceOf,
} from '@omnirelay/leadership-fsm';
import { unpack } from 'msgpackr';
import { Buffer } from 'node:buffer';
import { checkFenceMonotonic } from './helpers/checkers';
import { Driver, noopTwinSnapshot, replay } from './helpers/driver';

const ttl = 1_000;

type Descriptor = Omit<SetClusterCommand, 'type' | 'correlationId'>;

const passiveB: Descriptor = {
  local: true,
  clusterId: 'b',
  region: 'eu-west',
  priority: 1,
  state: 'passive',
  failoverEpoch: 0,
  endpoints: ['127.0.0.1:7001'],
  reason: 'standby of a',
};
const activeA: Descriptor = {
  local: false,
  clusterId: 'a',
  region: 'us-east',
  priority: 2,
  state: 'active',
  failoverEpoch: 0,
  endpoints: ['10.0.0.1:7001', '10.0.0.2:7001'],
  reason: 'primary',
};

function setCluster(d: Driver, descriptor: Descriptor, correlationId?: string): ApplyResult {
  return d.apply({
    type: 'setCluster',
    ...descriptor,
    ...(correlationId === undefined ? {} : { correlationId }),
  });
}

function acquire(d: Driver, scope: string, candidateId = 'w1'): ApplyResult {
  return d.apply({ type: 'acquire', scope, candidateId, metadata: '', leaseTtlMs: ttl });
}

function grantedFence(result: ApplyResult): bigint {
  if (!result.ok || result.outcome.type !== 'acquire' || !result.outcome.granted) {
    throw new Error(`not granted: ${JSON.stringify(result.ok ? result.outcome.type : result.error.code)}`);
  }
  return result.outcome.lease.fenceToken;
}

/** renewalOf renews `scope`'s lease with `fence` and returns the answer for it. */
function renewalOf(d: Driver, scope: string, fenceToken: bigint): unknown {
  const result = d.apply({ type: 'renew', leases: [{ scope, fenceToken }] });
  return result.ok && result.outcome.type === 'renew' ? result.outcome.leases[0] : result;
}

function errorOf(result: ApplyResult): { code: string; message: string } & Record<string, unknown> {
  if (result.ok) throw new Error(`expected a refusal, got ${result.outcome.type}`);
  return result.error as unknown as { code: string; message: string } & Record<string, unknown>;
}

/** mirrorOf applies a mirror entry of source `a` up to `toRevision` with `changes`. */
function mirrorOf(d: Driver, toRevision: number, changes: MirrorChange[], reset = false): ApplyResult {
  return d.apply({
    type: 'mirror',
    sourceClusterId: 'a',
    toRevision,
    sourceStampMs: 5_000 + toRevision,
    ...(reset ? { reset } : {}),
    changes,
  });
}

function holderAt(scope: string, revision: number, fenceToken: bigint): MirrorChange {
  return {
    scope,
    revision,
    holder: { candidateId: 'w1', metadata: '', fenceToken, scopeTerm: 1, leaseTtlMs: ttl, grantedStampMs: 5 },
  };
}

describe('cluster descriptors', () => {
  it('keeps a cluster with no descriptor active in epoch 0, with fences equal to the index', () => {
    const d = new Driver();
    expect(d.fsm.cluster()).toMatchObject({ local: null, state: 'active', failoverEpoch: 0, peers: [] });
    expect(grantedFence(acquire(d, 'x'))).toBe(1n);
  });

  it('records who changed a descriptor, why, and at which revision', () => {
    const d = new Driver();
    const fsm = d.fsm;
    d.index = 9;
    const result = d.fsm.apply({
      index: 10,
      term: 1,
      stampMs: 7_000,
      proposerId: 'n1',
      principal: 'token/ops',
      command: encode({ type: 'setCluster', correlationId: 'c', ...passiveB }),
    });
    expect(result.ok).toBe(true);
    const { local, ...fields } = passiveB;
    expect(local).toBe(true);
    expect(fsm.cluster().local).toEqual({
      ...fields,
      changedBy: 'token/ops',
      changedRevision: 10,
      changedStampMs: 7_000,
    });
  });

  it('grants fences with the failover epoch in the high bits once the epoch is raised', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 2 });
    const fence = grantedFence(acquire(d, 'x'));
    expect(fence).toBe(fenceOf(2, 2));
    expect(d.fsm.validateFence('x', fence)).toBe(true);
    expect(d.fsm.getHolder('x')?.revision).toBe(2);
    checkFenceMonotonic(d.events);
  });

  it('refuses a lower failover epoch and changes nothing', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 3 });
    const before = d.fsm.snapshot();
    const result = setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 2 });
    expect(errorOf(result)).toMatchObject({ code: 'EPOCH_REGRESSION', failoverEpoch: 3 });
    expect(Buffer.from(d.fsm.snapshot())).toEqual(
      Buffer.from(noopTwinSnapshot(before, d.log[d.log.length - 1]!)),
    );
  });

  it('refuses a lower epoch for a peer too', () => {
    const d = new Driver();
    setCluster(d, { ...activeA, failoverEpoch: 4 });
    expect(errorOf(setCluster(d, { ...activeA, failoverEpoch: 1 })).code).toBe('EPOCH_REGRESSION');
  });

  it('refuses a promotion that does not raise the epoch above every epoch it knows of', () => {
    const d = new Driver();
    setCluster(d, passiveB);
    setCluster(d, { ...activeA, failoverEpoch: 1 });
    const same = errorOf(setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 1 }));
    expect(same.code).toBe('EPOCH_REGRESSION');
    expect(same.message).toContain('give at least 2');
    expect(setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 2 }).ok).toBe(true);
  });

  it('refuses a promotion past the last epoch with a clear message', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, failoverEpoch: FAILOVER_EPOCH_MAX });
    const error = errorOf(setCluster(d, { ...passiveB, state: 'active', failoverEpoch: FAILOVER_EPOCH_MAX }));
    expect(error.code).toBe('EPOCH_REGRESSION');
    expect(error.message).toContain('no failover epoch is left');
  });

  it('refuses an epoch outside 16 bits, a bad state and a bad cluster id before they are replicated', () => {
    const d = new Driver();
    expect(() => setCluster(d, { ...passiveB, failoverEpoch: FAILOVER_EPOCH_MAX + 1 })).toThrow(
      /failoverEpoch/,
    );
    expect(() => setCluster(d, { ...passiveB, state: 'standby' as never })).toThrow(/state "standby"/);
    expect(() => setCluster(d, { ...passiveB, clusterId: 'b c' })).toThrow(/cluster id/);
    expect(() => setCluster(d, { ...passiveB, endpoints: ['has space:1'] })).toThrow(/endpoints\[0\]/);
  });

  it('refuses a change of the local cluster id and a peer with the local id', () => {
    const d = new Driver();
    setCluster(d, passiveB);
    expect(errorOf(setCluster(d, { ...passiveB, clusterId: 'c' })).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(setCluster(d, { ...activeA, clusterId: 'b' })).code).toBe('INVALID_ARGUMENT');
  });
});

describe('a passive cluster', () => {
  it('refuses acquire and campaign naming the active cluster and its endpoints', () => {
    const d = new Driver();
    setCluster(d, passiveB);
    setCluster(d, activeA);
    const acquired = errorOf(acquire(d, 'x'));
    expect(acquired).toMatchObject({
      code: 'CLUSTER_PASSIVE',
      activeClusterId: 'a',
      activeEndpoints: '10.0.0.1:7001,10.0.0.2:7001',
    });
    expect(acquired.message).toContain('"a" (10.0.0.1:7001, 10.0.0.2:7001)');
    const campaigned = d.apply({
      type: 'campaign',
      scope: 'x',
      candidateId: 'w1',
      metadata: '',
      leaseTtlMs: ttl,
      priority: 0,
    });
    expect(errorOf(campaigned).code).toBe('CLUSTER_PASSIVE');
    expect(d.fsm.stats().scopeCount).toBe(0);
  });

  it('refuses grants on an active cluster that learns of an active peer at a higher epoch', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, clusterId: 'a', state: 'active' });
    expect(grantedFence(acquire(d, 'x'))).toBe(2n);
    setCluster(d, { ...activeA, clusterId: 'b', failoverEpoch: 1 });
    const error = errorOf(acquire(d, 'y'));
    expect(error).toMatchObject({ code: 'CLUSTER_PASSIVE', activeClusterId: 'b', failoverEpoch: 0 });
    expect(error.message).toContain('superseded');
  });

  it('says so when it knows no active cluster', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, state: 'draining' });
    const error = errorOf(acquire(d, 'x'));
    expect(error.code).toBe('CLUSTER_PASSIVE');
    expect(error.message).toContain('is draining');
    expect(error.message).toContain('no active cluster is known');
  });

  it('drops the waiting candidates and ends every lease when it starts draining, so renewals are refused', () => {
    const d = new Driver();
    const fence = grantedFence(acquire(d, 'x', 'w1'));
    const other = grantedFence(acquire(d, 'y', 'w3'));
    d.apply({ type: 'campaign', scope: 'x', candidateId: 'w2', metadata: '', leaseTtlMs: ttl, priority: 0 });
    const result = setCluster(d, { ...passiveB, state: 'draining' }, 'failover-1');
    expect(result.ok && result.outcome).toMatchObject({
      type: 'setCluster',
      waitersDropped: 1,
      leasesEnded: 2,
    });
    expect(
      result.events.map((e) => [e.scope, e.reason, e.previousHolder?.fenceToken, e.holder, e.correlationId]),
    ).toEqual([
      ['x', 'steppedDown', fence, null, 'failover-1'],
      ['y', 'steppedDown', other, null, 'failover-1'],
    ]);
    expect(d.fsm.stats()).toMatchObject({ waitingCount: 0, leaseCount: 0 });
    expect(renewalOf(d, 'x', fence)).toMatchObject({ renewed: false, code: 'STALE_FENCE' });
    const resigned = d.apply({ type: 'resign', scope: 'y', fenceToken: other });
    expect(errorOf(resigned).code).toBe('STALE_FENCE');
  });

  it('ends every lease when it learns of an active peer promoted above its epoch', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, clusterId: 'a', state: 'active' });
    const fence = grantedFence(acquire(d, 'x', 'w1'));
    const same = setCluster(d, { ...activeA, clusterId: 'b', failoverEpoch: 0 });
    expect(same.ok && same.outcome).toMatchObject({ leasesEnded: 0 });
    const result = setCluster(d, { ...activeA, clusterId: 'b', failoverEpoch: 1 });
    expect(result.ok && result.outcome).toMatchObject({ leasesEnded: 1 });
    expect(result.events[0]).toMatchObject({
      scope: 'x',
      reason: 'steppedDown',
      previousHolder: { fenceToken: fence },
    });
    expect(renewalOf(d, 'x', fence)).toMatchObject({ renewed: false, code: 'STALE_FENCE' });
  });

  it('ends nothing when the descriptor change is refused', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, clusterId: 'a', state: 'active', failoverEpoch: 2 });
    acquire(d, 'x', 'w1');
    const refused = setCluster(d, { ...passiveB, clusterId: 'a', state: 'draining', failoverEpoch: 1 });
    expect(errorOf(refused).code).toBe('EPOCH_REGRESSION');
    expect(d.fsm.stats().leaseCount).toBe(1);
  });
});

describe('the fence index limit', () => {
  it('refuses a grant above FENCE_INDEX_MAX instead of wrapping into the epoch bits', () => {
    const d = new Driver();
    d.index = FENCE_INDEX_MAX - 1;
    expect(grantedFence(acquire(d, 'x'))).toBe(BigInt(FENCE_INDEX_MAX));
    const error = errorOf(acquire(d, 'y'));
    expect(error.code).toBe('FENCE_SPACE_EXHAUSTED');
    expect(d.fsm.getHolder('y')).toBeNull();
  });
});

describe('the passive mirror', () => {
  it("applies the active cluster's changes with their source revisions and a version vector", () => {
    const d = new Driver();
    setCluster(d, passiveB);
    setCluster(d, activeA);
    expect(mirrorOf(d, 7, [holderAt('x', 7, 7n)]).ok).toBe(true);
    expect(mirrorOf(d, 9, [{ scope: 'x', revision: 9, holder: null }]).ok).toBe(true);
    const page = d.fsm.mirror();
    expect(page.versionVector).toEqual({ a: 9 });
    expect(page.scopes).toEqual([
      { scope: 'x', revision: 9, lastFenceToken: 7n, holder: null, steppedDownHolder: null },
    ]);
    expect(d.fsm.cluster().mirror).toMatchObject({
      sourceClusterId: 'a',
      scopeCount: 1,
      sourceStampMs: 5_009,
    });
    expect(d.fsm.cluster().following).toBe('a');
  });

  it('refuses a batch at or below the revision it has, and one from an active cluster', () => {
    const d = new Driver();
    expect(errorOf(mirrorOf(d, 3, [])).code).toBe('CLUSTER_ACTIVE');
    setCluster(d, passiveB);
    mirrorOf(d, 5, [holderAt('x', 5, 5n)]);
    expect(errorOf(mirrorOf(d, 5, [holderAt('x', 5, 5n)])).code).toBe('MIRROR_OUT_OF_ORDER');
    expect(mirrorOf(d, 2, [holderAt('y', 2, 2n)], true).ok).toBe(true);
    expect(d.fsm.mirror().scopes.map((m) => m.scope)).toEqual(['y']);
  });

  it('makes a promotion go above the epoch of every fence it mirrored', () => {
    const d = new Driver();
    setCluster(d, passiveB);
    mirrorOf(d, 5, [holderAt('x', 5, fenceOf(4, 5))]);
    expect(errorOf(setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 4 })).code).toBe(
      'EPOCH_REGRESSION',
    );
    setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 5 });
    const fence = grantedFence(acquire(d, 'y'));
    expect(fence).toBeGreaterThan(fenceOf(4, 5));
    expect(epochOfHigh(fence)).toBe(5);
  });
});

describe('cluster snapshots', () => {
  it('keeps format 2 byte for byte while nothing cross-cluster was set', () => {
    const d = new Driver();
    acquire(d, 'x');
    expect((unpack(d.fsm.snapshot()) as unknown[])[0]).toBe(SNAPSHOT_FORMAT);
  });

  it('round-trips descriptors, epoch and mirror through format 3, and replays to the same bytes', () => {
    const d = new Driver();
    acquire(d, 'held');
    setCluster(d, passiveB);
    setCluster(d, activeA);
    mirrorOf(d, 7, [holderAt('x', 7, 7n), { scope: 'y', revision: 6, holder: null }]);
    const bytes = d.fsm.snapshot();
    expect((unpack(bytes) as unknown[])[0]).toBe(SNAPSHOT_FORMAT_CLUSTER);
    const restored = LeadershipFsm.restore(bytes);
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(bytes));
    expect(restored.cluster()).toEqual(d.fsm.cluster());
    expect(restored.mirror()).toEqual(d.fsm.mirror());
    expect(Buffer.from(replay(d.log).fsm.snapshot())).toEqual(Buffer.from(bytes));
    const capture = d.fsm.captureSnapshot();
    mirrorOf(d, 8, [holderAt('z', 8, 8n)]);
    expect(Buffer.from(capture.encodeSlice(1) ?? capture.encodeSlice(1_000)!)).toEqual(Buffer.from(bytes));
  });

  it('knows the revision of its last holder change, after a restore too', () => {
    const d = new Driver();
    expect(d.fsm.cluster().lastEventRevision).toBe(0);
    acquire(d, 'x');
    d.noop();
    acquire(d, 'y');
    d.noop();
    expect(d.fsm.cluster().lastEventRevision).toBe(3);
    expect(LeadershipFsm.restore(d.fsm.snapshot()).cluster().lastEventRevision).toBe(3);
  });

  it('restores a promoted cluster that keeps granting in its epoch', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 1 });
    acquire(d, 'x');
    const restored = LeadershipFsm.restore(d.fsm.snapshot());
    const result = restored.apply({
      index: d.index + 1,
      term: 1,
      stampMs: d.nowMs,
      proposerId: 'n1',
      command: encode({
        type: 'acquire',
        correlationId: 'c',
        scope: 'y',
        candidateId: 'w',
        metadata: '',
        leaseTtlMs: ttl,
      }),
    });
    expect(grantedFence(result)).toBe(fenceOf(1, d.index + 1));
  });
});

describe("a promotion inherits the old active's holders", () => {
  const fenceA = fenceOf(1, 40);

  /** promotedB is b, passive in epoch 1 mirroring a, promoted to epoch 2 at stamp 2_000 with `changes` in its mirror. */
  function promotedB(changes: MirrorChange[], force = false): Driver {
    const d = new Driver();
    setCluster(d, { ...passiveB, failoverEpoch: 1 });
    setCluster(d, { ...activeA, failoverEpoch: 1 });
    mirrorOf(d, 50, changes);
    d.nowMs = 2_000;
    if (force) setCluster(d, { ...activeA, state: 'passive', failoverEpoch: 1 });
    const promotion = setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 2 }, 'promote-1');
    expect(promotion.ok).toBe(true);
    return d;
  }

  function campaign(d: Driver, candidateId: string, sessionId: string): ApplyResult {
    return d.apply({
      type: 'campaign',
      scope: 'x',
      candidateId,
      sessionId,
      metadata: '',
      leaseTtlMs: ttl,
      priority: 0,
    });
  }

  it('installs each mirrored holder as a lease ending one TTL after the promotion, with a granted event', () => {
    const d = promotedB([holderAt('y', 41, fenceOf(1, 41)), holderAt('x', 40, fenceA)]);
    const promotion = d.log.length;
    expect(d.fsm.getHolder('x')).toMatchObject({
      candidateId: 'w1',
      sessionId: '',
      fenceToken: fenceA,
      leaseTtlMs: ttl,
      grantedStampMs: 5,
      lastRenewalStampMs: 2_000,
      deadlineMs: 2_000 + ttl,
    });
    const granted = d.events.filter((e) => e.revision === promotion);
    expect(granted.map((e) => [e.scope, e.reason, e.holder?.fenceToken])).toEqual([
      ['x', 'granted', fenceA],
      ['y', 'granted', fenceOf(1, 41)],
    ]);
    expect(granted[0]!.correlationId).toBe('promote-1');
    expect(d.fsm.stats().leaseCount).toBe(2);
    expect(d.fsm.nextDeadline()).toEqual({ scope: 'x', fenceToken: fenceA, deadlineMs: 2_000 + ttl });
    expect(d.fsm.validateFence('x', fenceA)).toBe(true);
  });

  it('inherits a holder the old active stepped down (a drain), which may still trust its lease', () => {
    const d = promotedB([
      holderAt('x', 40, fenceA),
      { scope: 'x', revision: 45, holder: null, reason: 'steppedDown' },
      holderAt('r', 41, fenceOf(1, 41)),
      { scope: 'r', revision: 46, holder: null, reason: 'resigned' },
    ]);
    expect(d.fsm.getHolder('x')).toMatchObject({
      candidateId: 'w1',
      fenceToken: fenceA,
      deadlineMs: 2_000 + ttl,
    });
    expect(d.fsm.getHolder('r')).toBeNull();
    expect(grantedFence(acquire(d, 'r'))).toBe(fenceOf(2, d.index));
  });

  it('refuses to renew an inherited lease, so it ends at its deadline', () => {
    const d = promotedB([holderAt('x', 40, fenceA)]);
    expect(renewalOf(d, 'x', fenceA)).toEqual({
      scope: 'x',
      fenceToken: fenceA,
      renewed: false,
      code: 'STALE_FENCE',
      currentFenceToken: fenceA,
    });
    expect(d.fsm.getHolder('x')?.deadlineMs).toBe(2_000 + ttl);
  });

  it('grants the scope to no acquire before the deadline, the old candidate included', () => {
    const d = promotedB([holderAt('x', 40, fenceA)]);
    const other = acquire(d, 'x', 'w2');
    expect(other.ok && other.outcome.type === 'acquire' && other.outcome.granted).toBe(false);
    expect(errorOf(d.acquireIn('x', 'w1', 's-new')).code).toBe('HELD_BY_OTHER_SESSION');
    expect(d.fsm.getHolder('x')?.fenceToken).toBe(fenceA);
  });

  it('queues campaigns, the old candidate too, and elects one with a fence of the new epoch after Expire at the deadline', () => {
    const d = promotedB([holderAt('x', 40, fenceA)]);
    const same = campaign(d, 'w1', 's-w1');
    expect(same.ok && same.outcome.type === 'campaign' && same.outcome.elected).toBe(false);
    const other = campaign(d, 'w2', 's-w2');
    expect(
      other.ok && other.outcome.type === 'campaign' && !other.outcome.elected && other.outcome.position,
    ).toBe(1);
    d.nowMs = 2_000 + ttl - 1;
    const early = d.apply({ type: 'expire', leases: [{ scope: 'x', fenceToken: fenceA }] });
    expect(early.ok && early.outcome.type === 'expire' && early.outcome.expiredCount).toBe(0);
    d.nowMs = 2_000 + ttl;
    const expire = d.apply({ type: 'expire', leases: [{ scope: 'x', fenceToken: fenceA }] });
    expect(expire.ok && expire.outcome.type === 'expire' && expire.outcome.expiredCount).toBe(1);
    const holder = d.fsm.getHolder('x')!;
    expect(holder).toMatchObject({ candidateId: 'w1', sessionId: 's-w1', fenceToken: fenceOf(2, d.index) });
    expect(holder.fenceToken).toBeGreaterThan(fenceA);
    expect(d.events[d.events.length - 1]).toMatchObject({
      reason: 'expired',
      previousHolder: { fenceToken: fenceA },
    });
    expect(renewalOf(d, 'x', holder.fenceToken)).toMatchObject({ renewed: true });
    checkFenceMonotonic(d.events);
  });

  it('lets the old holder resign the inherited lease by its fence, freeing the scope early', () => {
    const d = promotedB([holderAt('x', 40, fenceA)]);
    campaign(d, 'w2', 's-w2');
    const resign = d.apply({ type: 'resign', scope: 'x', fenceToken: fenceA });
    expect(resign.ok).toBe(true);
    expect(d.fsm.getHolder('x')).toMatchObject({ candidateId: 'w2', fenceToken: fenceOf(2, d.index) });
  });

  it('does the same for an emergency promotion of a cluster whose active is gone', () => {
    const d = promotedB([holderAt('x', 40, fenceA)], true);
    expect(d.fsm.getHolder('x')).toMatchObject({ fenceToken: fenceA, deadlineMs: 2_000 + ttl });
    const other = acquire(d, 'x', 'w2');
    expect(other.ok && other.outcome.type === 'acquire' && other.outcome.granted).toBe(false);
  });

  it('installs nothing when the promotion is refused', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, failoverEpoch: 1 });
    mirrorOf(d, 50, [holderAt('x', 40, fenceA)]);
    const before = d.fsm.snapshot();
    expect(errorOf(setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 1 })).code).toBe(
      'EPOCH_REGRESSION',
    );
    expect(d.fsm.getHolder('x')).toBeNull();
    expect(Buffer.from(d.fsm.snapshot())).toEqual(
      Buffer.from(noopTwinSnapshot(before, { index: d.index, term: d.term, stampMs: d.nowMs })),
    );
  });

  it('round-trips inherited leases and stepped-down holders through a snapshot, and replays to the same bytes', () => {
    const d = new Driver();
    setCluster(d, { ...passiveB, failoverEpoch: 1 });
    mirrorOf(d, 50, [
      holderAt('x', 40, fenceA),
      { scope: 'x', revision: 45, holder: null, reason: 'steppedDown' },
    ]);
    const passive = d.fsm.snapshot();
    expect(Buffer.from(LeadershipFsm.restore(passive).snapshot())).toEqual(Buffer.from(passive));
    expect(LeadershipFsm.restore(passive).mirror()).toEqual(d.fsm.mirror());
    setCluster(d, { ...passiveB, state: 'active', failoverEpoch: 2 });
    const bytes = d.fsm.snapshot();
    const restored = LeadershipFsm.restore(bytes);
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(bytes));
    expect(restored.getHolder('x')).toEqual(d.fsm.getHolder('x'));
    expect(restored.nextDeadline()).toEqual(d.fsm.nextDeadline());
    expect(Buffer.from(replay(d.log).fsm.snapshot())).toEqual(Buffer.from(bytes));
  });

  it('refuses a mirror change with an unknown reason before it is replicated', () => {
    expect(() =>
      encodeCommand({
        type: 'mirror',
        correlationId: 'c',
        sourceClusterId: 'a',
        toRevision: 2,
        sourceStampMs: 0,
        changes: [{ scope: 'x', revision: 1, holder: null, reason: 'gone' as 'expired' }],
      }),
    ).toThrow(/changes\[0\]\.reason "gone"; allowed: granted, resigned, expired, steppedDown, preempted/);
  });
});

function epochOfHigh(fence: bigint): number {
  return Number(fence >> 48n);
}

function encode(command: Parameters<typeof encodeCommand>[0]): Uint8Array {
  return encodeCommand(command);
}
