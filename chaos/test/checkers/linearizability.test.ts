import type { Operation } from '../../src/operations';
import { checkLinearizability } from '../../src/checkers/linearizability';
import { chaosErrorOf } from '../helpers/errors';
import { grantOp, op } from '../helpers/operations';

/**
 * rotation is a long valid history: holders w0..w3 take turns (grant, renew, resign) while
 * others find the scope held and validate the holder's fence; 6 operations per round.
 */
function rotation(rounds: number): Operation[] {
  const ops: Operation[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = i * 40;
    const holder = `w${i % 4}`;
    const fence = BigInt(i + 1);
    ops.push(
      op(holder, 'acquire', { candidate: holder, session: holder }, [t, t + 10], { granted: true, fence }),
      op(`o${i % 2}`, 'acquire', { candidate: 'o', session: 'o' }, [t + 5, t + 30], { granted: false }),
      op(holder, 'renew', { fence }, [t + 11, t + 20]),
      op(`v${i % 3}`, 'validate', { fence }, [t + 12, t + 25], { valid: true }),
      op(`u${i}`, 'renew', { fence }, [t + 13, null]),
      op(holder, 'resign', { fence }, [t + 21, t + 35]),
    );
  }
  return ops;
}

describe('checkLinearizability', () => {
  it('accepts a grant, renewals, a resignation and the next grant with a higher fence', () => {
    const result = checkLinearizability([
      grantOp('a', 3n, [0, 1]),
      op('a', 'renew', { fence: 3n }, [2, 3]),
      op('a', 'validate', { fence: 3n }, [4, 5], { valid: true }),
      op('a', 'resign', { fence: 3n }, [6, 7]),
      grantOp('b', 9n, [8, 9]),
      op('a', 'validate', { fence: 3n }, [10, 11], { valid: false }),
    ]);
    expect(result).toEqual({ checker: 'linearizability', verdict: 'valid', violations: [] });
  });

  it('accepts a concurrent acquire that found the scope held, and a retry that got the lease back', () => {
    const result = checkLinearizability([
      grantOp('a', 3n, [0, 10]),
      op('b', 'acquire', { candidate: 'b', session: 'session-b' }, [1, 9], { granted: false }),
      grantOp('a', 3n, [11, 12]),
    ]);
    expect(result.verdict).toBe('valid');
  });

  it('accepts a new grant after an expiry no client saw, and the old fence then not valid', () => {
    const result = checkLinearizability([
      grantOp('a', 3n, [0, 1]),
      grantOp('b', 7n, [10, 11]),
      op('a', 'validate', { fence: 3n }, [12, 13], { valid: false }),
      op('a', 'renew', { fence: 3n }, [14, 15], {}, 'fail'),
    ]);
    expect(result.verdict).toBe('valid');
  });

  it('accepts a campaign whose first grant lapsed within the call before another grant (minority-partition, seed 17)', () => {
    // b's campaign was granted 105 (which lapsed unconfirmed), a found the scope held, was granted
    // 118 once 105 expired, and b's campaign, campaigning again inside the call, ended with 128.
    const result = checkLinearizability([
      grantOp('a', 97n, [0, 10]),
      op('b', 'campaign', { candidate: 'b', session: 'session-b' }, [5, 100], { fence: 128n }),
      op('a', 'acquire', { candidate: 'a', session: 'session-a' }, [50, 51], { granted: false }),
      grantOp('a', 118n, [60, 61]),
    ]);
    expect(result).toEqual({ checker: 'linearizability', verdict: 'valid', violations: [] });
  });

  it('accepts "held" after an acquire whose answer was lost, since it may have been granted', () => {
    const result = checkLinearizability([
      op('a', 'acquire', { candidate: 'a', session: 'session-a' }, [0, 5], {}, 'info'),
      op('b', 'acquire', { candidate: 'b', session: 'session-b' }, [6, 7], { granted: false }),
    ]);
    expect(result.verdict).toBe('valid');
  });

  it('flags "held" when nothing could hold the scope', () => {
    const result = checkLinearizability([
      grantOp('a', 3n, [0, 1]),
      op('a', 'resign', { fence: 3n }, [2, 3]),
      op('b', 'acquire', { candidate: 'b', session: 'session-b' }, [4, 5], { granted: false }),
    ]);
    expect(result.verdict).toBe('invalid');
    expect(result.violations[0]).toMatch(/scope s: not linearizable/);
    expect(result.violations[0]).toMatch(/b acquire\(b\) → not granted \(held\) \[4\.000\.\.5\.000 ms/);
  });

  it('flags a fence granted twice', () => {
    const result = checkLinearizability([
      grantOp('a', 5n, [0, 1]),
      op('a', 'resign', { fence: 5n }, [2, 3]),
      grantOp('b', 5n, [10, 11]),
    ]);
    expect(result.verdict).toBe('invalid');
    expect(result.violations[0]).toMatch(/a acquire\(a\) → granted fence 5/);
    expect(result.violations[0]).toMatch(/b acquire\(b\) → granted fence 5/);
  });

  it('flags a fence lower than one granted before it was asked for', () => {
    const result = checkLinearizability([grantOp('a', 9n, [0, 1]), grantOp('b', 4n, [10, 11])]);
    expect(result.verdict).toBe('invalid');
    expect(result.violations[0]).toMatch(/no order of these 2 operations/);
  });

  it('accepts fences in either order when the grants overlap and one expired', () => {
    // b's grant (4) may have come first, then expired, then a's (9).
    const result = checkLinearizability([grantOp('a', 9n, [0, 10]), grantOp('b', 4n, [2, 8])]);
    expect(result.verdict).toBe('valid');
  });

  it('flags a split brain: the old holder renews after a newer grant completed, naming the smallest conflict', () => {
    const result = checkLinearizability([
      grantOp('a', 3n, [0, 1]),
      op('a', 'renew', { fence: 3n }, [2, 3]),
      grantOp('b', 7n, [10, 11]),
      op('b', 'renew', { fence: 7n }, [12, 13]),
      op('a', 'renew', { fence: 3n }, [14, 15]),
      op('b', 'renew', { fence: 7n }, [16, 17]),
    ]);
    expect(result.verdict).toBe('invalid');
    const [message] = result.violations;
    expect(message).toMatch(/no order of these 2 operations/);
    expect(message).toMatch(/b acquire\(b\) → granted fence 7 \[10\.000\.\.11\.000 ms/);
    expect(message).toMatch(/a renew\(fence 3\) → ok \[14\.000\.\.15\.000 ms/);
  });

  it('flags a stale fence reported valid after a newer grant', () => {
    const result = checkLinearizability([
      grantOp('a', 3n, [0, 1]),
      grantOp('b', 7n, [10, 11]),
      op('c', 'validate', { fence: 3n }, [12, 13], { valid: true }),
    ]);
    expect(result.verdict).toBe('invalid');
    expect(result.violations[0]).toMatch(/c validate\(fence 3\) → valid/);
  });

  it('learns the fence of a grant whose answer was lost from a later renewal', () => {
    const lost = op('a', 'acquire', { candidate: 'a', session: 'session-a' }, [0, 5], {}, 'info');
    const renewed = op('a', 'renew', { fence: 8n }, [6, 7]);
    expect(checkLinearizability([lost, renewed]).verdict).toBe('valid');
    expect(checkLinearizability([lost, renewed, grantOp('b', 6n, [20, 21])]).verdict).toBe('invalid');
  });

  it('ignores store writes, certain failures and serializable validates', () => {
    const result = checkLinearizability([
      grantOp('a', 3n, [0, 1]),
      grantOp('b', 7n, [10, 11]),
      op('a', 'write', { fence: 3n }, [12, 13]),
      op('a', 'renew', { fence: 3n }, [14, 15], { code: 'STALE_FENCE' }, 'fail'),
      op('c', 'validate', { fence: 3n, serializable: true }, [16, 17], { valid: true }),
    ]);
    expect(result.verdict).toBe('valid');
  });

  it('checks each scope on its own and names only the broken one', () => {
    const result = checkLinearizability([
      op('a', 'acquire', { candidate: 'a', session: 'sa' }, [0, 1], { granted: true, fence: 3n }, 'ok', 't'),
      op('b', 'acquire', { candidate: 'b', session: 'sb' }, [0, 1], { granted: true, fence: 4n }, 'ok', 'u'),
      grantOp('a', 9n, [0, 1]),
      grantOp('b', 4n, [10, 11]),
    ]);
    expect(result.verdict).toBe('invalid');
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toMatch(/^scope s: /);
  });

  it('decides a long valid history (3,000 operations) within the default budget', () => {
    expect(checkLinearizability(rotation(500)).verdict).toBe('valid');
  });

  it('shows the last ordered operations instead of a shrunk set when the conflict ends a long history', () => {
    const ops = [...rotation(100), op('w0', 'renew', { fence: 97n }, [100_000, 100_001])];
    const result = checkLinearizability(ops);
    expect(result.verdict).toBe('invalid');
    const [message] = result.violations;
    expect(message).toMatch(
      /^scope s: not linearizable: the search ordered at most 500 of 501 operations; the last it ordered were:/,
    );
    expect(message).toMatch(/w3 resign\(fence 100\) → ok/);
    expect(message).toMatch(
      /and then it could not place:\n {2}w0 renew\(fence 97\) → ok \[100000\.000\.\.100001\.000 ms/,
    );
  });

  it('finds a violation behind many timed-out acquires without trying each subset of them', () => {
    const lost = Array.from({ length: 30 }, (_, i) =>
      op(`i${i}`, 'acquire', { candidate: `i${i}`, session: `si${i}` }, [2 + i, null]),
    );
    const result = checkLinearizability([
      grantOp('a', 5n, [0, 1]),
      ...lost,
      op('a', 'renew', { fence: 5n }, [100, 101]),
      grantOp('b', 3n, [200, 201]),
    ]);
    expect(result.verdict).toBe('invalid');
    expect(result.violations[0]).toMatch(/b acquire\(b\) → granted fence 3/);
  });

  it('answers unknown, never valid, when the step budget runs out', () => {
    const ops = Array.from({ length: 10 }, (_, i) => grantOp(`w${i}`, BigInt(i + 1), [0, 100]));
    const result = checkLinearizability(ops, { stepBudget: 5 });
    expect(result.verdict).toBe('unknown');
    expect(result.violations[0]).toMatch(/scope s: unknown: budget exhausted after 5 steps on 10 operations/);
  });

  it('refuses a step budget out of range', () => {
    for (const stepBudget of [0, 1.5, 2e9]) {
      expect(chaosErrorOf(() => checkLinearizability([], { stepBudget }), 'INVALID_ARGUMENT')).toMatch(
        /stepBudget must be an integer in 1\.\.1000000000/,
      );
    }
  });
});
