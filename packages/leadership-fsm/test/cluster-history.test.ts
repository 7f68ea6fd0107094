import type { ApplyResult } from '@omnirelay/leadership-fsm';
import {
  FAILOVER_DETAIL_BYTES_MAX,
  FAILOVER_HISTORY_MAX,
  LeadershipFsm,
  encodeCommand,
  isLeadershipError,
} from '@omnirelay/leadership-fsm';
import { Driver } from './helpers/driver';

/** step applies a failoverStep command as principal `actor`. */
function step(
  d: Driver,
  name: string,
  detail: string,
  correlationId = 'promote-1',
  actor = 'token/ops',
): ApplyResult {
  d.index += 1;
  const result = d.fsm.apply({
    index: d.index,
    term: d.term,
    stampMs: d.nowMs,
    proposerId: d.proposerId,
    principal: actor,
    command: encodeCommand({
      type: 'failoverStep',
      correlationId,
      step: name,
      detail,
      reason: 'planned',
    } as never),
  });
  return result;
}

describe('the failover history', () => {
  it('records the steps and every descriptor change in order, with the correlation id, actor and reason', () => {
    const d = new Driver();
    d.apply({
      type: 'setCluster',
      correlationId: 'promote-1',
      local: true,
      clusterId: 'b',
      region: '',
      priority: 0,
      state: 'passive',
      failoverEpoch: 0,
      endpoints: [],
      reason: 'standby',
    });
    expect(step(d, 'preflight', 'b streams from a').ok).toBe(true);
    expect(step(d, 'catch-up', 'b holds a up to revision 7').ok).toBe(true);
    const history = d.fsm.cluster().history;
    expect(history.map((r) => [r.revision, r.clusterId, r.step, r.correlationId, r.actor])).toEqual([
      [1, 'b', 'descriptor', 'promote-1', ''],
      [2, 'b', 'preflight', 'promote-1', 'token/ops'],
      [3, 'b', 'catch-up', 'promote-1', 'token/ops'],
    ]);
    expect(history[0]!.detail).toBe('this cluster b is passive in failover epoch 0');
    expect(history[2]!.reason).toBe('planned');
  });

  it('survives a snapshot and restore, byte for byte', () => {
    const d = new Driver();
    step(d, 'preflight', 'ok');
    step(d, 'done', 'b is active');
    const bytes = d.fsm.snapshot();
    const restored = LeadershipFsm.restore(bytes);
    expect(restored.cluster().history).toEqual(d.fsm.cluster().history);
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(bytes));
  });

  it(`keeps only the last ${FAILOVER_HISTORY_MAX} records`, () => {
    const d = new Driver();
    for (let i = 0; i < FAILOVER_HISTORY_MAX + 5; i++) step(d, 'preflight', `n${i}`);
    const history = d.fsm.cluster().history;
    expect(history).toHaveLength(FAILOVER_HISTORY_MAX);
    expect(history[0]!.detail).toBe('n5');
    expect(LeadershipFsm.restore(d.fsm.snapshot()).cluster().history).toHaveLength(FAILOVER_HISTORY_MAX);
  });

  it("refuses an unknown step, the state machine's own descriptor step, and an over-long detail, naming the field", () => {
    for (const [name, detail, field] of [
      ['preflite', '', 'step'],
      ['descriptor', '', 'step'],
      ['done', 'x'.repeat(FAILOVER_DETAIL_BYTES_MAX + 1), 'detail'],
    ] as const) {
      let refusal: unknown;
      try {
        encodeCommand({ type: 'failoverStep', correlationId: 'c', step: name, detail, reason: '' } as never);
      } catch (e) {
        refusal = e;
      }
      expect(isLeadershipError(refusal, 'INVALID_ARGUMENT') ? refusal.context.field : refusal).toBe(field);
    }
  });
});
