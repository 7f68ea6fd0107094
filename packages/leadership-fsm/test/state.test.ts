import { FsmState } from '../src/state';

describe('FsmState.sortedScopeNames', () => {
  it('lists every scope in byte order as scopes are created between calls', () => {
    const state = new FsmState();
    for (const name of ['m', 'b', 'x']) state.createScope(name);
    const first = state.sortedScopeNames();
    expect(first).toEqual(['b', 'm', 'x']);
    for (const name of ['a', 'n', 'z', 'c/1', 'c']) state.createScope(name);
    expect(state.sortedScopeNames()).toEqual(['a', 'b', 'c', 'c/1', 'm', 'n', 'x', 'z']);
    expect(state.sortedScopeNames()).toBe(state.sortedScopeNames());
  });

  it('never changes an array it returned (a snapshot capture keeps it)', () => {
    const state = new FsmState();
    state.createScope('b');
    const before = state.sortedScopeNames();
    state.createScope('a');
    expect(state.sortedScopeNames()).toEqual(['a', 'b']);
    expect(before).toEqual(['b']);
  });
});
