import type { ApplyResult, Command, LeadershipEvent } from '@omnirelay/leadership-fsm';
import { LIST_PAGE_SIZE_MAX, LeadershipFsm, encodeCommand } from '@omnirelay/leadership-fsm';
import { Registry } from 'prom-client';
import type {
  AppliedListener,
  LeadershipStateMachine,
  RestoredListener,
} from '../../src/leadership/leadership-state-machine';
import { registerLeadershipMetrics } from '../../src/metrics/leadership-metrics';
import { sampleOf } from './exposition';

/**
 * ReplicaStub stands in for LeadershipStateMachine: a real LeadershipFsm produces the results,
 * and the test can also deliver forged ones that a correct FSM never produces (the canaries).
 */
class ReplicaStub {
  fsm = new LeadershipFsm();
  private readonly appliedListeners: AppliedListener[] = [];
  private readonly restoredListeners: RestoredListener[] = [];
  private index = 0;

  onApplied(listener: AppliedListener): void {
    this.appliedListeners.push(listener);
  }

  onRestored(listener: RestoredListener): void {
    this.restoredListeners.push(listener);
  }

  apply(command: Command, stampMs: number): ApplyResult {
    const index = ++this.index;
    const result = this.fsm.apply({
      index,
      term: 1,
      stampMs,
      proposerId: 'n1',
      command: encodeCommand(command),
    });
    this.deliver(result, stampMs);
    return result;
  }

  deliver(result: ApplyResult, stampMs: number): void {
    for (const l of this.appliedListeners)
      l(result, { index: result.index, term: 1, stampMs, transport: 'internal' });
  }

  restore(fsm: LeadershipFsm): void {
    this.fsm = LeadershipFsm.restore(fsm.snapshot());
    this.index = this.fsm.lastAppliedIndex;
    for (const l of this.restoredListeners) l(this.index);
  }
}

function acquire(scope: string, candidateId: string, leaseTtlMs = 1000): Command {
  return { type: 'acquire', correlationId: 'c', scope, candidateId, metadata: '', leaseTtlMs };
}

function fenceOf(result: ApplyResult): bigint {
  if (!result.ok || result.outcome.type !== 'acquire' || !result.outcome.granted) {
    throw new Error(
      `not granted: ${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
    );
  }
  return result.outcome.lease.fenceToken;
}

/** forgedGrant is an applied result whose one event grants `scope` to `candidateId` as if it were vacant. */
function forgedGrant(
  template: ApplyResult,
  scope: string,
  candidateId: string,
  fenceToken: bigint,
): ApplyResult {
  if (!template.ok || template.outcome.type !== 'acquire' || !template.outcome.granted) {
    throw new Error('the template must be a granted acquire');
  }
  const lease = { ...template.outcome.lease, scope, candidateId, fenceToken, revision: Number(fenceToken) };
  const event: LeadershipEvent = { ...template.events[0]!, scope, holder: lease, previousHolder: null };
  return { ...template, index: Number(fenceToken), events: [event] };
}

describe('registerLeadershipMetrics', () => {
  let replica: ReplicaStub;
  let registry: Registry;

  beforeEach(() => {
    replica = new ReplicaStub();
    registry = new Registry();
  });

  function register(): ReturnType<typeof registerLeadershipMetrics> {
    return registerLeadershipMetrics(registry, replica as unknown as LeadershipStateMachine);
  }

  it('starts every reason and kind at 0', async () => {
    register();
    const text = await registry.metrics();
    for (const reason of ['granted', 'resigned', 'expired', 'steppedDown', 'preempted']) {
      expect(sampleOf(text, 'mesh_leadership_transitions_total', { reason })).toBe(0);
    }
    for (const kind of ['validate', 'resign', 'renew', 'stepDown', 'overlap', 'fenceRegression']) {
      expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind })).toBe(0);
    }
  });

  it('reports the most holder changes of one scope, with no scope label', async () => {
    register();
    expect(sampleOf(await registry.metrics(), 'omnirelay_scope_holder_changes_max')).toBe(0);
    for (let i = 0; i < 3; i++) {
      const fence = fenceOf(replica.apply(acquire('flapping', `c${i}`), i * 10));
      replica.apply({ type: 'resign', correlationId: 'c', scope: 'flapping', fenceToken: fence }, i * 10 + 5);
    }
    replica.apply(acquire('calm', 'c'), 100);
    const text = await registry.metrics();
    expect(sampleOf(text, 'omnirelay_scope_holder_changes_max')).toBe(6);
    expect(text).not.toContain('flapping');
  });

  it('measures an expiry from the renewed deadline to the next grant', async () => {
    register();
    const fence = fenceOf(replica.apply(acquire('s', 'a', 1000), 0));
    replica.apply({ type: 'renew', correlationId: 'c', leases: [{ scope: 's', fenceToken: fence }] }, 500);
    replica.apply({ type: 'expire', correlationId: 'c', leases: [{ scope: 's', fenceToken: fence }] }, 1800);
    replica.apply(acquire('s', 'b'), 2000);

    const text = await registry.metrics();
    expect(sampleOf(text, 'mesh_leadership_transitions_total', { reason: 'expired' })).toBe(1);
    expect(sampleOf(text, 'mesh_leadership_transitions_total', { reason: 'granted' })).toBe(2);
    // The lease ended at its renewed deadline 1500; the scope was granted again at 2000.
    expect(sampleOf(text, 'mesh_leadership_election_duration_ms_count')).toBe(1);
    expect(sampleOf(text, 'mesh_leadership_election_duration_ms_sum')).toBe(500);
    expect(sampleOf(text, 'mesh_leadership_election_duration_ms_bucket', { le: '250' })).toBe(0);
    expect(sampleOf(text, 'mesh_leadership_election_duration_ms_bucket', { le: '500' })).toBe(1);
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'overlap' })).toBe(0);
  });

  it('counts an overlap when an applied event grants a scope whose lease is still live', async () => {
    register();
    const granted = replica.apply(acquire('s', 'a', 60_000), 0);
    replica.deliver(forgedGrant(granted, 's', 'b', 50n), 10);
    const text = await registry.metrics();
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'overlap' })).toBe(1);
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'fenceRegression' })).toBe(0);
  });

  it('seeds its mirror from the state at start and again after a snapshot restore', async () => {
    const before = replica.apply(acquire('held-before', 'a', 60_000), 0);
    register();
    replica.deliver(forgedGrant(before, 'held-before', 'b', 60n), 10);

    const leader = new LeadershipFsm();
    leader.apply({
      index: 100,
      term: 2,
      stampMs: 20,
      proposerId: 'n2',
      command: encodeCommand(acquire('restored', 'a', 60_000)),
    });
    replica.restore(leader);
    replica.deliver(forgedGrant(before, 'restored', 'b', 200n), 30);

    const text = await registry.metrics();
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'overlap' })).toBe(2);
  });

  it('reseeds its mirror after a restore a page per event-loop turn', async () => {
    const template = replica.apply(acquire('template', 'a', 60_000), 0);
    register();
    const leader = new LeadershipFsm();
    const scopes = LIST_PAGE_SIZE_MAX + 5;
    for (let i = 0; i < scopes; i++) {
      leader.apply({
        index: i + 1,
        term: 2,
        stampMs: 20,
        proposerId: 'n2',
        command: encodeCommand(acquire(`s/${String(i).padStart(4, '0')}`, 'a', 60_000)),
      });
    }
    replica.restore(leader);
    // The first page is seeded at once; a scope of the second page is not tracked yet, so a
    // forged grant there is skipped rather than judged against a mirror not yet read.
    replica.deliver(forgedGrant(template, 's/0000', 'b', 5_000n), 30);
    replica.deliver(forgedGrant(template, `s/${scopes - 1}`, 'b', 5_001n), 30);
    const overlaps = async (): Promise<number | undefined> =>
      sampleOf(await registry.metrics(), 'mesh_leadership_split_brain_total', { kind: 'overlap' });
    expect(await overlaps()).toBe(1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    replica.deliver(forgedGrant(template, `s/${scopes - 2}`, 'b', 5_002n), 40);
    expect(await overlaps()).toBe(2);
  });

  it('ignores applied entries and fence rejections after stop', async () => {
    const metrics = register();
    metrics.fenceRejected('stepDown');
    metrics.stop();
    metrics.fenceRejected('stepDown');
    replica.apply(acquire('s', 'a'), 0);
    const text = await registry.metrics();
    expect(sampleOf(text, 'mesh_leadership_split_brain_total', { kind: 'stepDown' })).toBe(1);
    expect(sampleOf(text, 'mesh_leadership_transitions_total', { reason: 'granted' })).toBe(0);
  });
});
