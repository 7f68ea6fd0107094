import { APPLY_TURN_MS_MAX, applyInTurns } from '../../src/node/apply-turns';

/** fakeClock is a clock that each `apply` moves on by `stepMs` (no real time is read). */
function fakeClock(): { nowMs: () => number; advance: (ms: number) => void } {
  let ms = 0;
  return { nowMs: () => ms, advance: (by) => (ms += by) };
}

describe('applyInTurns', () => {
  it('yields to the event loop once a turn has spent its budget, keeping the order', async () => {
    const clock = fakeClock();
    const applied: number[] = [];
    // What runs between turns: a setImmediate callback sees how many items were applied by then.
    const seenBetween: number[] = [];
    const probe = (): void => {
      seenBetween.push(applied.length);
      if (seenBetween.length < 50) setImmediate(probe);
    };
    setImmediate(probe);
    const items = Array.from({ length: 10 }, (_, i) => i);
    const turns = await applyInTurns(
      items,
      0,
      items.length,
      (item) => {
        applied.push(item);
        clock.advance(4);
      },
      10,
      clock.nowMs,
    );
    // 4 ms each against a 10 ms budget: 3 items a turn (the third crosses it), so 4 turns.
    expect(applied).toEqual(items);
    expect(turns).toBe(4);
    expect(seenBetween.slice(0, 3)).toEqual([3, 6, 9]);
  });

  it('applies a range in one turn when it stays under the budget', async () => {
    const applied: string[] = [];
    const turns = await applyInTurns(
      ['a', 'b', 'c', 'd'],
      1,
      3,
      (item) => applied.push(item),
      APPLY_TURN_MS_MAX,
      () => 0,
    );
    expect(applied).toEqual(['b', 'c']);
    expect(turns).toBe(1);
  });

  it('applies what fits one turn before it returns, and hands back no promise to await', () => {
    const applied: string[] = [];
    const push = (item: string): void => void applied.push(item);
    // A Ready with nothing to apply, or no slicing needed, must cost its caller no microtask hop.
    expect(applyInTurns(['a', 'b'], 1, 1, push, APPLY_TURN_MS_MAX, () => 0)).toBe(1);
    expect(applyInTurns(['a', 'b', 'c'], 0, 3, push, APPLY_TURN_MS_MAX, () => 0)).toBe(1);
    expect(applied).toEqual(['a', 'b', 'c']);
  });

  it('never splits one slow entry and applies nothing after one that throws', async () => {
    const clock = fakeClock();
    const applied: number[] = [];
    const apply = (item: number): void => {
      if (item === 2) throw new Error('broken invariant at 2');
      applied.push(item);
      clock.advance(100);
    };
    await expect(applyInTurns([0, 1, 2, 3], 0, 4, apply, 10, clock.nowMs)).rejects.toThrow(
      'broken invariant at 2',
    );
    expect(applied).toEqual([0, 1]);
  });
});
