import { LeadershipFsm, SNAPSHOT_SLICE_SCOPES, encodeCommand } from '@omnirelay/leadership-fsm';
import { LeadershipStateMachine } from '../../src/leadership/leadership-state-machine';

/** snapshotOf is the snapshot of a state machine holding `count` scopes, one acquire entry each. */
function snapshotOf(count: number): Uint8Array {
  const fsm = new LeadershipFsm();
  for (let i = 0; i < count; i++) {
    fsm.apply({
      index: i + 1,
      term: 1,
      stampMs: 1000,
      proposerId: 'n1',
      command: encodeCommand({
        type: 'acquire',
        correlationId: `c${i}`,
        scope: `s/${i}`,
        candidateId: 'w',
        metadata: '',
        leaseTtlMs: 10_000,
      }),
    });
  }
  return fsm.snapshot();
}

describe('LeadershipStateMachine.beginRestore', () => {
  it('keeps serving the previous state until the last slice swaps in the snapshot', () => {
    const sm = new LeadershipStateMachine();
    sm.restore(snapshotOf(1));
    const previous = sm.fsm;
    const restored: number[] = [];
    sm.onRestored((index) => restored.push(index));
    const count = 2 * SNAPSHOT_SLICE_SCOPES + 1;
    const install = sm.beginRestore(snapshotOf(count));
    expect(install.installSlice()).toBe(false);
    expect(install.installSlice()).toBe(false);
    expect(sm.fsm).toBe(previous);
    expect(restored).toEqual([]);
    expect(install.installSlice()).toBe(true);
    expect(sm.fsm.stats()).toMatchObject({ leaseCount: count, lastAppliedIndex: count });
    expect(restored).toEqual([count]);
    // Done: a further call changes nothing and tells no one again.
    expect(install.installSlice()).toBe(true);
    expect(restored).toEqual([count]);
  });
});
