import type { HistoryOperation, Model } from '../../src/linearizability/model';
import { searchLinearization } from '../../src/linearizability/search';

/** A read/write register: the textbook object, to test the search apart from the lease model. */
type RegisterInput = { readonly kind: 'write' | 'read'; readonly value: number };
const register: Model<number, RegisterInput, number> = {
  init: () => [0],
  step: (state, input, output) => {
    if (input.kind === 'write') return [input.value];
    if (output === undefined) return [state];
    return output === state ? [state] : [];
  },
  key: (state) => String(state),
};

function w(
  value: number,
  invokeNs: number,
  returnNs: number | null,
): HistoryOperation<RegisterInput, number> {
  return {
    input: { kind: 'write' as const, value },
    output: 0,
    invokeNs: BigInt(invokeNs),
    returnNs: returnNs === null ? null : BigInt(returnNs),
  };
}
function r(value: number, invokeNs: number, returnNs: number): HistoryOperation<RegisterInput, number> {
  return {
    input: { kind: 'read' as const, value: 0 },
    output: value,
    invokeNs: BigInt(invokeNs),
    returnNs: BigInt(returnNs),
  };
}

describe('searchLinearization', () => {
  it('accepts a read that overlaps a write and sees either value', () => {
    expect(searchLinearization(register, [w(1, 0, 10), r(1, 5, 6)], 1000).kind).toBe('linearizable');
    expect(searchLinearization(register, [w(1, 0, 10), r(0, 5, 6)], 1000).kind).toBe('linearizable');
  });

  it('rejects a read of an old value after a write completed', () => {
    const outcome = searchLinearization(register, [w(1, 0, 10), r(0, 11, 12)], 1000);
    expect(outcome).toMatchObject({ kind: 'illegal', blockedAt: 1, longestPrefix: [0] });
  });

  it('rejects two reads that see two writes in opposite orders', () => {
    const ops = [w(1, 0, 100), w(2, 0, 100), r(1, 10, 20), r(2, 30, 40), r(1, 50, 60)];
    expect(searchLinearization(register, ops, 10_000).kind).toBe('illegal');
  });

  it('lets a write that never answered take effect later or never', () => {
    expect(searchLinearization(register, [w(1, 0, null), r(0, 5, 6), r(1, 7, 8)], 1000).kind).toBe(
      'linearizable',
    );
    expect(searchLinearization(register, [w(1, 0, null), r(1, 5, 6), r(0, 7, 8)], 1000).kind).toBe('illegal');
  });

  it('treats operations that touch at one instant as concurrent', () => {
    expect(searchLinearization(register, [w(1, 0, 10), r(0, 10, 12)], 1000).kind).toBe('linearizable');
  });

  it('answers budget when the steps run out, never linearizable', () => {
    const ops = Array.from({ length: 12 }, (_, i) => w(i + 1, 0, 100)).concat([r(99, 50, 60)]);
    expect(searchLinearization(register, ops, 50)).toEqual({ kind: 'budget', steps: 50, cacheFull: false });
  });

  it('prunes revisited configurations, so ruling out every order of many concurrent writes stays cheap', () => {
    // 10 concurrent writes and a read no write explains: 10! orders without the cache, far
    // fewer (subsets × last value) with it.
    const ops = Array.from({ length: 10 }, (_, i) => w(i + 1, 0, 100)).concat([r(99, 200, 210)]);
    const outcome = searchLinearization(register, ops, 1_000_000);
    expect(outcome.kind).toBe('illegal');
    expect(outcome.steps).toBeLessThan(200_000);
  });
});
