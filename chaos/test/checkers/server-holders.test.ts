import { checkServerHolders } from '../../src/checkers/server-holders';
import { event, holder } from '../helpers/records';

describe('checkServerHolders', () => {
  it('accepts grants, a promotion, a preemption and an expiry that follow one another', () => {
    const result = checkServerHolders([
      event(3, 'granted', null, holder('a', 3n)),
      event(4, 'granted', null, holder('x', 4n), 't'),
      event(9, 'resigned', holder('a', 3n), holder('b', 9n)),
      event(12, 'preempted', holder('b', 9n), holder('c', 12n)),
      event(15, 'expired', holder('c', 12n), null),
      event(16, 'granted', null, holder('a', 16n)),
    ]);
    expect(result).toEqual({ checker: 'server-holders', verdict: 'valid', violations: [] });
  });

  it('flags a grant while another lease still holds the scope', () => {
    const result = checkServerHolders([
      event(3, 'granted', null, holder('a', 3n)),
      event(7, 'granted', null, holder('b', 7n)),
    ]);
    expect(result.verdict).toBe('invalid');
    expect(result.violations).toEqual([
      'audit:7: revision 7 in s (granted) moves the scope from nobody to b (fence 7), but a (fence 3) held it since audit:3: two holders overlap',
    ]);
  });

  it('flags a change that starts from a holder other than the current one', () => {
    const result = checkServerHolders([
      event(3, 'granted', null, holder('a', 3n)),
      event(5, 'expired', holder('z', 1n), null),
    ]);
    expect(result.violations[0]).toMatch(
      /moves the scope from z \(fence 1\) to nobody, but a \(fence 3\) held it/,
    );
  });

  it('flags an event whose reason does not fit its holders', () => {
    const result = checkServerHolders([
      event(3, 'granted', null, null),
      event(4, 'resigned', null, null, 't'),
      event(5, 'stolen', null, holder('a', 5n), 'u'),
    ]);
    expect(result.violations).toEqual([
      'audit:3: revision 3 in s is granted from nobody to nobody, which that reason cannot be',
      'audit:4: revision 4 in t is resigned from nobody to nobody, which that reason cannot be',
      'audit:5: revision 5 in u has an unknown reason stolen',
    ]);
  });
});
