import {
  FAILOVER_EPOCH_MAX,
  FENCE_INDEX_MAX,
  epochOfFence,
  fenceOf,
  indexOfFence,
  isInvariantViolation,
} from '@omnirelay/leadership-fsm';

describe('fenceOf', () => {
  it('gives epoch 0 the fence tokens of before: the Raft index itself', () => {
    expect(fenceOf(0, 1)).toBe(1n);
    expect(fenceOf(0, 123_456)).toBe(123_456n);
  });

  it('puts the failover epoch in the high 16 bits and the index in the low 48', () => {
    const fence = fenceOf(3, 42);
    expect(fence).toBe(3n * 2n ** 48n + 42n);
    expect(epochOfFence(fence)).toBe(3);
    expect(indexOfFence(fence)).toBe(42);
  });

  it('orders every fence of a higher epoch above every fence of a lower one', () => {
    expect(fenceOf(1, 1)).toBeGreaterThan(fenceOf(0, FENCE_INDEX_MAX));
    expect(fenceOf(FAILOVER_EPOCH_MAX, FENCE_INDEX_MAX)).toBe(2n ** 64n - 1n);
  });

  it('refuses an epoch or an index outside its bits instead of wrapping', () => {
    const broken = (fn: () => unknown): boolean => {
      try {
        fn();
        return false;
      } catch (e) {
        return isInvariantViolation(e);
      }
    };
    expect(broken(() => fenceOf(FAILOVER_EPOCH_MAX + 1, 1))).toBe(true);
    expect(broken(() => fenceOf(0, FENCE_INDEX_MAX + 1))).toBe(true);
    expect(broken(() => fenceOf(-1, 1))).toBe(true);
    expect(broken(() => fenceOf(0, 0))).toBe(true);
  });
});
