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

describe('FsmState.scopeNamesToCapture and adoptSortedNames', () => {
  it('hands out the sorted names and a copy of those created since, which later creations leave alone', () => {
    const state = new FsmState();
    for (const name of ['m', 'b']) state.createScope(name);
    const sorted = state.sortedScopeNames();
    for (const name of ['x', 'a']) state.createScope(name);
    const names = state.scopeNamesToCapture();
    state.createScope('c');
    expect(names.sorted).toBe(sorted);
    expect(names.added).toEqual(['x', 'a']);
  });

  it('adopts merged names and keeps the names created after them for the next sort', () => {
    const state = new FsmState();
    for (const name of ['m', 'b']) state.createScope(name);
    const { sorted, added } = state.scopeNamesToCapture();
    state.createScope('c');
    state.adoptSortedNames(sorted, added.length, ['b', 'm']);
    expect(state.scopeNamesToCapture()).toEqual({ sorted: ['b', 'm'], added: ['c'] });
    expect(state.sortedScopeNames()).toEqual(['b', 'c', 'm']);
  });

  it('ignores merged names once the names were sorted again since they were handed out', () => {
    const state = new FsmState();
    for (const name of ['m', 'b']) state.createScope(name);
    const { sorted, added } = state.scopeNamesToCapture();
    state.createScope('c');
    const resorted = state.sortedScopeNames();
    state.adoptSortedNames(sorted, added.length, ['b', 'm']);
    expect(state.sortedScopeNames()).toBe(resorted);
    expect(resorted).toEqual(['b', 'c', 'm']);
  });

  it('stops with an InvariantViolation when merged names do not count the names they stand for', () => {
    const state = new FsmState();
    for (const name of ['m', 'b']) state.createScope(name);
    const { sorted, added } = state.scopeNamesToCapture();
    expect(() => state.adoptSortedNames(sorted, added.length, ['b'])).toThrow(/adopting 1 sorted names/);
  });
});
