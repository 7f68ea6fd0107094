import fc from 'fast-check';
import type { DueLease } from '../src/deadline-index';
import { DeadlineIndex } from '../src/deadline-index';

/** checkAgainstFullScan compares due() and peek() with a full scan over deadlines 0..deadlineMax. */
function checkAgainstFullScan(deadlineMax: number): void {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          scope: fc.constantFrom('a', 'b', 'c', 'd'),
          deadlineMs: fc.integer({ min: 0, max: deadlineMax }),
        }),
        {
          maxLength: 60,
        },
      ),
      fc.integer({ min: 0, max: deadlineMax }),
      (updates, nowMs) => {
        const index = new DeadlineIndex();
        const live = new Map<string, DueLease>();
        updates.forEach(({ scope, deadlineMs }, i) => {
          const entry = { scope, deadlineMs, fenceToken: BigInt(i + 1) };
          live.set(scope, entry);
          index.push(entry);
        });
        const isLive = (e: DueLease) => {
          const current = live.get(e.scope);
          return current?.fenceToken === e.fenceToken && current.deadlineMs === e.deadlineMs;
        };
        const expected = [...live.values()]
          .filter((e) => e.deadlineMs <= nowMs)
          .sort((x, y) => x.deadlineMs - y.deadlineMs || (x.scope < y.scope ? -1 : 1));
        expect(index.due(nowMs, 100, isLive)).toEqual(expected);
        expect(index.due(nowMs, 100, isLive)).toEqual(expected);
        const earliest = [...live.values()].sort(
          (x, y) => x.deadlineMs - y.deadlineMs || (x.scope < y.scope ? -1 : 1),
        )[0];
        expect(index.peek(isLive)).toEqual(earliest);
        index.rebuild([...live.values()]);
        expect(index.due(nowMs, 1, isLive)).toEqual(expected.slice(0, 1));
      },
    ),
    { numRuns: 300 },
  );
}

describe('DeadlineIndex', () => {
  it('answers as a full scan through pushes, due rounds and rebuilds interleaved', () => {
    type Op =
      { k: 'push'; scope: string; deadlineMs: number } | { k: 'due'; nowMs: number } | { k: 'rebuild' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        k: fc.constant('push' as const),
        scope: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
        deadlineMs: fc.integer({ min: 0, max: 50 }),
      }),
      fc.record({ k: fc.constant('due' as const), nowMs: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ k: fc.constant('rebuild' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const index = new DeadlineIndex();
        const live = new Map<string, DueLease>();
        const isLive = (e: DueLease) => live.get(e.scope) === e;
        const sorted = () =>
          [...live.values()].sort((x, y) => x.deadlineMs - y.deadlineMs || (x.scope < y.scope ? -1 : 1));
        ops.forEach((o, i) => {
          if (o.k === 'push') {
            const entry = { scope: o.scope, deadlineMs: o.deadlineMs, fenceToken: BigInt(i + 1) };
            live.set(o.scope, entry);
            index.push(entry);
          } else if (o.k === 'due') {
            expect(index.due(o.nowMs, 3, isLive)).toEqual(
              sorted()
                .filter((e) => e.deadlineMs <= o.nowMs)
                .slice(0, 3),
            );
          } else {
            index.rebuild([...live.values()]);
          }
          expect(index.peek(isLive)).toEqual(sorted()[0]);
          expect(index.size).toBe(live.size);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('finds the same due leases as a full scan, whatever the pushes and stale entries', () => {
    checkAgainstFullScan(50);
  });

  it('finds the same due leases as a full scan over a wide range of deadlines', () => {
    checkAgainstFullScan(2000);
  });

  it('keeps one entry per scope however often its lease is renewed, so nothing stale piles up', () => {
    const index = new DeadlineIndex();
    for (let renewal = 0; renewal < 1000; renewal++) {
      for (const scope of ['a', 'b', 'c']) index.push({ scope, fenceToken: 1n, deadlineMs: 10 + renewal });
    }
    expect(index.size).toBe(3);
    const live = (e: DueLease): boolean => e.deadlineMs === 1009;
    expect(index.due(2000, 10, live).map((e) => e.scope)).toEqual(['a', 'b', 'c']);
  });

  it('moves an entry earlier when a new lease of its scope is due sooner', () => {
    const index = new DeadlineIndex();
    index.push({ scope: 'a', fenceToken: 1n, deadlineMs: 100 });
    index.push({ scope: 'b', fenceToken: 2n, deadlineMs: 50 });
    index.push({ scope: 'a', fenceToken: 3n, deadlineMs: 10 });
    expect(index.peek(() => true)).toEqual({ scope: 'a', fenceToken: 3n, deadlineMs: 10 });
    expect(index.size).toBe(2);
  });

  it('finds the next deadline without scanning the leases when a grace gave them all the same one', () => {
    const index = new DeadlineIndex();
    let checks = 0;
    const live = (): boolean => {
      checks++;
      return true;
    };
    for (let i = 0; i < 10_000; i++) index.push({ scope: `s/${i}`, fenceToken: 1n, deadlineMs: 5000 });
    for (let apply = 0; apply < 100; apply++) index.peek(live);
    expect(checks).toBe(100);
  });
});
