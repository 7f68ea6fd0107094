import { StampClock } from '../../src/leadership/stamp-clock';

/** clocks gives a StampClock a wall clock and a monotonic clock the test moves by hand. */
function clocks(driftPpmMax = 500): { clock: StampClock; wall: { ms: number }; mono: { ms: number } } {
  const wall = { ms: 1_700_000_000_000 };
  const mono = { ms: 1000 };
  return {
    clock: new StampClock(
      driftPpmMax,
      () => wall.ms,
      () => mono.ms,
    ),
    wall,
    mono,
  };
}

describe('StampClock (lease time)', () => {
  it('starts from the wall clock when nothing was stamped yet', () => {
    const { clock, wall } = clocks();
    expect(clock.next()).toBe(wall.ms);
  });

  it('ignores a wall clock stepped an hour forward: lease time follows the monotonic clock', () => {
    const { clock, wall, mono } = clocks();
    const first = clock.next();
    wall.ms += 3_600_000 + 1000;
    mono.ms += 1000;
    const second = clock.next();
    // One second of monotonic time, plus at most 500 ppm of it.
    expect(second - first).toBeGreaterThanOrEqual(1000);
    expect(second - first).toBeLessThanOrEqual(1000 + 0.5);
  });

  it('never goes back when the wall clock steps back, and runs at most the drift bound slower', () => {
    const { clock, wall, mono } = clocks();
    const first = clock.next();
    wall.ms -= 3_600_000;
    mono.ms += 10_000;
    const second = clock.next();
    expect(second - first).toBeGreaterThanOrEqual(10_000 - 5);
    expect(second - first).toBeLessThanOrEqual(10_000);
  });

  it('slews towards a wall clock that is ahead by at most driftPpmMax, never jumping', () => {
    const { clock, wall, mono } = clocks(1000);
    const start = clock.next();
    wall.ms += 60_000;
    let last = start;
    for (let s = 1; s <= 600; s++) {
      wall.ms += 1000;
      mono.ms += 1000;
      const stamp = clock.next();
      expect(stamp - last).toBeLessThanOrEqual(1000 + 1 + 1);
      last = stamp;
    }
    // 600 s at 1,000 ppm gains at most 0.6 s on the monotonic clock.
    expect(last - start).toBeGreaterThan(600_000);
    expect(last - start).toBeLessThanOrEqual(600_000 + 600 + 600);
  });

  it("continues from another leader's stamps, projected with this node's monotonic clock", () => {
    const { clock, wall, mono } = clocks();
    clock.observe(wall.ms - 5000); // an old, replayed entry
    clock.observe(wall.ms); // a live entry from the leader
    mono.ms += 200;
    wall.ms += 3_600_000; // this node's wall clock is an hour fast
    const stamp = clock.next();
    expect(stamp).toBeGreaterThanOrEqual(wall.ms - 3_600_000 + 200 - 1);
    expect(stamp).toBeLessThanOrEqual(wall.ms - 3_600_000 + 201);
  });

  it('reports how far lease time is from the wall clock', () => {
    const { clock, wall, mono } = clocks();
    clock.next();
    wall.ms += 3_600_000;
    mono.ms += 1;
    expect(clock.wallOffsetMs()).toBeGreaterThan(3_599_000);
  });
});
