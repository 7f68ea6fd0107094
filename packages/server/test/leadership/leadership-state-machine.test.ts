import { SNAPSHOT_SLICE_SCOPES } from '@omnirelay/leadership-fsm';
import { LeadershipStateMachine } from '../../src/leadership/leadership-state-machine';
import { leasedFsm } from '../support/leased-fsm';

describe('LeadershipStateMachine.beginRestore', () => {
  it('keeps serving the previous state until the last slice swaps in the snapshot', () => {
    const sm = new LeadershipStateMachine();
    sm.restore(leasedFsm(1).snapshot());
    const previous = sm.fsm;
    const restored: number[] = [];
    sm.onRestored((index) => restored.push(index));
    const count = 2 * SNAPSHOT_SLICE_SCOPES + 1;
    const install = sm.beginRestore(leasedFsm(count).snapshot());
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
