import { checkFencedStore } from '../../src/checkers/fenced-store';
import { grant, write } from '../helpers/records';

const grants = [grant('a', 3n), grant('b', 7n), grant('c', 2n, 't')];

describe('checkFencedStore', () => {
  it('accepts writes under rising fences from their holders and rejected stale ones', () => {
    const result = checkFencedStore(
      [
        write(1, 'a', 3n),
        write(2, 'a', 3n),
        write(3, 'c', 2n, 'accepted', 't'),
        write(4, 'b', 7n),
        write(5, 'a', 3n, 'rejected'),
        write(6, 'b', 7n),
      ],
      grants,
    );
    expect(result).toEqual({ checker: 'fenced-store', verdict: 'valid', violations: [] });
  });

  it('flags an accepted fence below one accepted before (a store that skips the fence check)', () => {
    const result = checkFencedStore([write(1, 'a', 3n), write(2, 'b', 7n), write(3, 'a', 3n)], grants);
    expect(result.verdict).toBe('invalid');
    expect(result.violations).toEqual([
      'store:3: scope s accepted fence 3 from a after fence 7 from b (store:2): accepted fences went down, a stale writer got through',
    ]);
  });

  it('flags two writers under one fence, once', () => {
    const result = checkFencedStore(
      [write(1, 'a', 3n), write(2, 'b', 3n), write(3, 'b', 3n)],
      [grant('a', 3n), grant('b', 3n)],
    );
    expect(result.violations).toEqual([
      'store:2: scope s accepted fence 3 from b, but a wrote under it too (store:1): two holders shared one fence',
    ]);
  });

  it('flags a fence never granted and a fence granted to someone else', () => {
    const result = checkFencedStore([write(1, 'a', 5n), write(2, 'a', 7n), write(3, 'a', 7n)], grants);
    expect(result.violations).toEqual([
      'store:1: scope s accepted fence 5 from a, a fence never granted',
      'store:2: scope s accepted fence 7 from a, but that fence was granted to b',
    ]);
  });

  it('flags a rejection when no higher fence was accepted', () => {
    const result = checkFencedStore([write(1, 'a', 3n), write(2, 'a', 3n, 'rejected')], grants);
    expect(result.violations).toEqual([
      'store:2: scope s rejected fence 3 from a, but no higher fence was accepted (highest 3 at store:1)',
    ]);
  });
});
