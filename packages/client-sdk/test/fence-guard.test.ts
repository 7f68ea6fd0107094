import fc from 'fast-check';
import { FenceGuard, isOmniRelayError } from '../src/index';

describe('FenceGuard', () => {
  it('admits equal and higher fences and rejects lower ones with STALE_FENCE', () => {
    const guard = new FenceGuard();
    guard.admit('s', 5n);
    guard.admit('s', 5n);
    guard.admit('s', 7n);
    expect(() => guard.admit('s', 6n)).toThrow(/fence 6 rejected: a newer holder wrote with fence 7/);
    try {
      guard.admit('s', 1n);
    } catch (e) {
      expect(isOmniRelayError(e, 'STALE_FENCE')).toBe(true);
    }
    expect(guard.check('s', 7n)).toBe(true);
    expect(guard.check('s', 6n)).toBe(false);
    // Scopes are independent.
    guard.admit('t', 1n);
    expect(guard.highestFence('s')).toBe(7n);
    expect(guard.highestFence('t')).toBe(1n);
  });

  it('starts from persisted fences and persists each advance before admitting', () => {
    const persisted: [string, bigint][] = [];
    const guard = new FenceGuard({
      initial: { s: 10n },
      persist: (scope, fence) => persisted.push([scope, fence]),
    });
    expect(() => guard.admit('s', 9n)).toThrow(/STALE|rejected/);
    guard.admit('s', 10n);
    guard.admit('s', 12n);
    expect(persisted).toEqual([['s', 12n]]);
  });

  it('does not advance when persisting fails', () => {
    const guard = new FenceGuard({
      persist: () => {
        throw new Error('disk full');
      },
    });
    expect(() => guard.admit('s', 3n)).toThrow('disk full');
    expect(guard.highestFence('s')).toBe(0n);
  });

  it('refuses fences that are not bigints ≥ 1', () => {
    const guard = new FenceGuard();
    expect(() => guard.admit('s', 0n)).toThrow(/bigint ≥ 1/);
    expect(() => guard.admit('s', 3 as unknown as bigint)).toThrow(/bigint ≥ 1/);
  });

  it('never admits a fence below one it admitted, whatever the order', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 50n }), { maxLength: 60 }), (fences) => {
        const guard = new FenceGuard();
        let highest = 0n;
        for (const f of fences) {
          const ok = guard.check('s', f);
          expect(ok).toBe(f >= highest);
          if (ok) {
            guard.admit('s', f);
            highest = f;
          } else {
            expect(() => guard.admit('s', f)).toThrow();
          }
        }
        expect(guard.highestFence('s')).toBe(highest);
      }),
    );
  });
});
