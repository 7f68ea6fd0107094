import { isInvariantViolation } from '@omnirelay/leadership-fsm';
import { ScopeChurn } from '../../src/metrics/scope-churn';

describe('ScopeChurn', () => {
  it('answers the most holder changes one scope had in the window', () => {
    const churn = new ScopeChurn(1000, 10, 64);
    for (const t of [0, 100, 200]) churn.record('a', t);
    churn.record('b', 150);
    expect(churn.maxChanges(300)).toBe(3);
  });

  it('forgets changes once they leave the window, and the scopes left with none', () => {
    const churn = new ScopeChurn(1000, 10, 64);
    for (const t of [0, 100, 200]) churn.record('a', t);
    churn.record('b', 900);
    churn.record('b', 950);
    expect(churn.maxChanges(1150)).toBe(2);
    expect(churn.trackedScopeCount).toBe(2);
    expect(churn.maxChanges(2000)).toBe(0);
    expect(churn.trackedScopeCount).toBe(0);
  });

  it('answers 0 before any change', () => {
    expect(new ScopeChurn().maxChanges(12_345)).toBe(0);
  });

  it('saturates a scope at changesPerScopeMax instead of growing', () => {
    const churn = new ScopeChurn(1000, 10, 4);
    for (let t = 0; t < 100; t++) churn.record('a', t);
    expect(churn.maxChanges(100)).toBe(4);
  });

  it('skips new scopes past scopesTrackedMax until older ones leave the window', () => {
    const churn = new ScopeChurn(1000, 2, 64);
    churn.record('a', 0);
    churn.record('b', 0);
    churn.record('c', 10);
    churn.record('c', 20);
    expect(churn.maxChanges(30)).toBe(1);
    expect(churn.trackedScopeCount).toBe(2);
    expect(churn.maxChanges(1500)).toBe(0);
    churn.record('c', 1500);
    expect(churn.maxChanges(1500)).toBe(1);
  });

  it('refuses a bound that is not a positive integer', () => {
    for (const args of [
      [0, 1, 1],
      [1, 1.5, 1],
      [1, 1, -1],
    ] as const) {
      let thrown: unknown;
      try {
        new ScopeChurn(...args);
      } catch (e) {
        thrown = e;
      }
      expect(isInvariantViolation(thrown)).toBe(true);
    }
  });
});
