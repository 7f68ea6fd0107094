import { CLOCK_SAMPLES_MAX, ClockOffsets } from '../../src/transport/clock-offsets';

describe('ClockOffsets', () => {
  it('is null before a peer sent anything, and ignores batches without a send time', () => {
    const c = new ClockOffsets();
    expect(c.offsetMs('n2')).toBeNull();
    c.record('n2', 0, 1000);
    expect(c.offsetMs('n2')).toBeNull();
  });

  it('takes the smallest receive − send of the recent batches: the offset plus the smallest delay', () => {
    const c = new ClockOffsets();
    c.record('n2', 10_000, 10_007);
    c.record('n2', 10_100, 10_102);
    c.record('n2', 10_200, 10_240);
    expect(c.offsetMs('n2')).toBe(2);
    // A peer whose clock is an hour ahead shows a large negative offset.
    c.record('n3', 3_600_000 + 500, 501);
    expect(c.offsetMs('n3')).toBe(-3_600_000 + 1);
  });

  it('forgets samples older than the last CLOCK_SAMPLES_MAX, so a clock step shows up', () => {
    const c = new ClockOffsets();
    c.record('n2', 1000, 1001);
    for (let i = 0; i < CLOCK_SAMPLES_MAX; i++) c.record('n2', 2000 + i, 2000 + i + 5000);
    expect(c.offsetMs('n2')).toBe(5000);
  });
});
