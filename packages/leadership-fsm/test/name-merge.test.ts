import fc from 'fast-check';
import { isInvariantViolation } from '@omnirelay/leadership-fsm';
import { NameMerge, sortedIncludes } from '../src/name-merge';

/** drain takes every name of `merge`, checking that peek always announced it. */
function drain(merge: NameMerge): string[] {
  const out: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const peeked = merge.peek();
    const name = merge.next();
    expect(name).toBe(peeked);
    if (name === undefined) return out;
    out.push(name);
  }
  throw new Error('NameMerge did not end');
}

describe('NameMerge', () => {
  it('returns the names of all runs in byte order, each once', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: fc.constantFrom('a', 'b', 'c', '/', '0', 'é') }), { maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 80 }),
        (names, cuts) => {
          // Deal the names into up to five runs, then sort each run.
          const runs: string[][] = [[], [], [], [], []];
          names.forEach((name, i) => runs[(cuts[i] ?? i) % runs.length]!.push(name));
          for (const run of runs) run.sort();
          const merge = new NameMerge(runs);
          expect(drain(merge)).toEqual([...names].sort());
          expect(merge.next()).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('tells whether a name is in a run, before and after it was returned', () => {
    const merge = new NameMerge([['a', 'c', 'e'], [], ['b', 'd']]);
    expect(['a', 'b', 'c', 'd', 'e'].every((n) => merge.has(n))).toBe(true);
    expect(['', 'a/', 'f', 'cc'].some((n) => merge.has(n))).toBe(false);
    drain(merge);
    expect(merge.has('c') && merge.has('d')).toBe(true);
  });

  it('answers nothing for no runs or empty ones', () => {
    expect(drain(new NameMerge([]))).toEqual([]);
    expect(drain(new NameMerge([[], []]))).toEqual([]);
  });

  it('stops with an InvariantViolation on a run out of order or a name in two runs', () => {
    for (const runs of [[['b', 'a']], [['a', 'b'], ['b']]]) {
      let thrown: unknown;
      try {
        drain(new NameMerge(runs));
      } catch (e) {
        thrown = e;
      }
      expect(isInvariantViolation(thrown)).toBe(true);
    }
  });
});

describe('sortedIncludes', () => {
  it('finds exactly the names of a sorted array', () => {
    const names = ['a', 'a/1', 'b', 'c/d', 'z'];
    for (const name of names) expect(sortedIncludes(names, name)).toBe(true);
    for (const name of ['', 'a/', 'b/', 'y', 'zz']) expect(sortedIncludes(names, name)).toBe(false);
    expect(sortedIncludes([], 'a')).toBe(false);
  });
});
