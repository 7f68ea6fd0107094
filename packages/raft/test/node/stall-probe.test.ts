import { RECENT_STALLS_MAX, RECENT_STALL_MS, StallProbe } from '../../src/node/stall-probe';

describe('StallProbe', () => {
  it('reports the longest delay past the period, and when it ended', () => {
    const probe = new StallProbe(10);
    expect(probe.stall()).toEqual({ longestMs: 0, at: null, count: 0, recent: [] });
    probe.observe(0, 1_000);
    probe.observe(11, 1_011);
    probe.observe(321, 1_321);
    probe.observe(331, 1_331);
    probe.observe(400, 1_400);
    expect(probe.stall()).toEqual({
      longestMs: 300,
      at: new Date(1_321).toISOString(),
      count: 2,
      recent: [
        { ms: 300, at: new Date(1_321).toISOString() },
        { ms: 59, at: new Date(1_400).toISOString() },
      ],
    });
  });

  it('counts a timer that ran early or on time as no stall', () => {
    const probe = new StallProbe(10);
    probe.observe(100, 0);
    probe.observe(108, 0);
    probe.observe(118, 0);
    expect(probe.stall()).toEqual({ longestMs: 0, at: null, count: 0, recent: [] });
  });

  it('keeps stalls of at least RECENT_STALL_MS among the recent ones, and not shorter ones', () => {
    const probe = new StallProbe(10);
    probe.observe(0, 0);
    probe.observe(10 + RECENT_STALL_MS - 1, 5_000);
    probe.observe(20 + 2 * RECENT_STALL_MS - 1, 6_000);
    const s = probe.stall();
    expect(s.longestMs).toBe(RECENT_STALL_MS);
    expect(s.count).toBe(1);
    expect(s.recent).toEqual([{ ms: RECENT_STALL_MS, at: new Date(6_000).toISOString() }]);
  });

  it('keeps only the latest RECENT_STALLS_MAX stalls, oldest first, and counts them all', () => {
    const probe = new StallProbe(10);
    let now = 0;
    probe.observe(now, 0);
    const total = RECENT_STALLS_MAX + 5;
    for (let k = 0; k < total; k++) {
      now += 10 + RECENT_STALL_MS + k;
      probe.observe(now, k * 1_000);
    }
    const s = probe.stall();
    expect(s.count).toBe(total);
    expect(s.recent).toHaveLength(RECENT_STALLS_MAX);
    expect(s.recent[0]).toEqual({ ms: RECENT_STALL_MS + 5, at: new Date(5_000).toISOString() });
    expect(s.recent.at(-1)).toEqual({
      ms: RECENT_STALL_MS + total - 1,
      at: new Date((total - 1) * 1_000).toISOString(),
    });
    expect(s.longestMs).toBe(RECENT_STALL_MS + total - 1);
  });
});
