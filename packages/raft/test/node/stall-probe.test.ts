import { StallProbe } from '../../src/node/stall-probe';

describe('StallProbe', () => {
  it('reports the longest delay past the period, and when it ended', () => {
    const probe = new StallProbe(10);
    expect(probe.stall()).toEqual({ longestMs: 0, at: null });
    probe.observe(0, 1_000);
    probe.observe(11, 1_011);
    probe.observe(321, 1_321);
    probe.observe(331, 1_331);
    probe.observe(400, 1_400);
    expect(probe.stall()).toEqual({ longestMs: 300, at: new Date(1_321).toISOString() });
  });

  it('counts a timer that ran early or on time as no stall', () => {
    const probe = new StallProbe(10);
    probe.observe(100, 0);
    probe.observe(108, 0);
    probe.observe(118, 0);
    expect(probe.stall()).toEqual({ longestMs: 0, at: null });
  });
});
