import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RECENT_STALLS_MAX, RECENT_STALL_MS, StallProbe } from '../../src/node/stall-probe';

/** cpuMs is this process's CPU time so far, as RaftNode hands it to the probe. */
function cpuMs(): number {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1000;
}

describe('StallProbe', () => {
  it('reports the longest delay past the period, and when it ended', () => {
    const probe = new StallProbe(10);
    expect(probe.stall()).toEqual({ longestMs: 0, at: null, count: 0, cpuWaitMs: null, recent: [] });
    probe.observe(0, 1_000, 0);
    probe.observe(11, 1_011, 11);
    probe.observe(321, 1_321, 321);
    probe.observe(331, 1_331, 331);
    probe.observe(400, 1_400, 400);
    expect(probe.stall()).toEqual({
      longestMs: 300,
      at: new Date(1_321).toISOString(),
      count: 2,
      cpuWaitMs: null,
      recent: [
        { ms: 300, at: new Date(1_321).toISOString(), gcMs: 0, gcMajorMs: 0, cpuMs: 310, cpuWaitMs: null },
        { ms: 59, at: new Date(1_400).toISOString(), gcMs: 0, gcMajorMs: 0, cpuMs: 69, cpuWaitMs: null },
      ],
    });
  });

  it('counts a timer that ran early or on time as no stall', () => {
    const probe = new StallProbe(10);
    probe.observe(100, 0, 100);
    probe.observe(108, 0, 108);
    probe.observe(118, 0, 118);
    expect(probe.stall()).toEqual({ longestMs: 0, at: null, count: 0, cpuWaitMs: null, recent: [] });
  });

  it('keeps stalls of at least RECENT_STALL_MS among the recent ones, and not shorter ones', () => {
    const probe = new StallProbe(10);
    probe.observe(0, 0, 0);
    probe.observe(10 + RECENT_STALL_MS - 1, 5_000, 10 + RECENT_STALL_MS - 1);
    probe.observe(20 + 2 * RECENT_STALL_MS - 1, 6_000, 20 + 2 * RECENT_STALL_MS - 1);
    const s = probe.stall();
    expect(s.longestMs).toBe(RECENT_STALL_MS);
    expect(s.count).toBe(1);
    expect(s.recent).toEqual([
      {
        ms: RECENT_STALL_MS,
        at: new Date(6_000).toISOString(),
        gcMs: 0,
        gcMajorMs: 0,
        cpuMs: 10 + RECENT_STALL_MS,
        cpuWaitMs: null,
      },
    ]);
  });

  it('keeps only the latest RECENT_STALLS_MAX stalls, oldest first, and counts them all', () => {
    const probe = new StallProbe(10);
    let now = 0;
    probe.observe(now, 0, now);
    const total = RECENT_STALLS_MAX + 5;
    for (let k = 0; k < total; k++) {
      now += 10 + RECENT_STALL_MS + k;
      probe.observe(now, k * 1_000, now);
    }
    const s = probe.stall();
    expect(s.count).toBe(total);
    expect(s.recent).toHaveLength(RECENT_STALLS_MAX);
    expect(s.recent[0]).toEqual({
      ms: RECENT_STALL_MS + 5,
      at: new Date(5_000).toISOString(),
      gcMs: 0,
      gcMajorMs: 0,
      cpuMs: 10 + RECENT_STALL_MS + 5,
      cpuWaitMs: null,
    });
    expect(s.recent.at(-1)).toEqual({
      ms: RECENT_STALL_MS + total - 1,
      at: new Date((total - 1) * 1_000).toISOString(),
      gcMs: 0,
      gcMajorMs: 0,
      cpuMs: 10 + RECENT_STALL_MS + total - 1,
      cpuWaitMs: null,
    });
    expect(s.longestMs).toBe(RECENT_STALL_MS + total - 1);
  });

  it('tells how much of a stall GC pauses took, and major ones, whether a pause is heard before or after the late tick', () => {
    const probe = new StallProbe(10);
    probe.observe(1_000, 0, 1_000);
    // The loop was held from 1,010 (when the tick was due) to 1,110: a major pause of 30 ms within
    // it is heard first, a minor one of 20 ms (half of it inside) after the tick that shows the stall.
    probe.noteGc(1_050, 30, true);
    probe.noteGc(900, 20); // before the stall: not part of it
    probe.observe(1_110, 5_000, 1_110);
    probe.noteGc(1_100, 20);
    // A later stall with no pause in it.
    probe.observe(1_120, 5_010, 1_120);
    probe.observe(1_180, 5_070, 1_180);
    const first = probe.stall();
    expect(first.recent).toEqual([
      { ms: 100, at: new Date(5_000).toISOString(), gcMs: 40, gcMajorMs: 30, cpuMs: 110, cpuWaitMs: null },
      { ms: 50, at: new Date(5_070).toISOString(), gcMs: 0, gcMajorMs: 0, cpuMs: 60, cpuWaitMs: null },
    ]);
    // Asked again with nothing new, the same answer; a pause inside a kept stall changes it.
    probe.observe(1_190, 5_080, 1_190);
    expect(probe.stall()).toBe(first);
    probe.noteGc(1_140, 10, true);
    expect(probe.stall().recent[1]).toEqual({
      ms: 50,
      at: new Date(5_070).toISOString(),
      gcMs: 10,
      gcMajorMs: 10,
      cpuMs: 60,
      cpuWaitMs: null,
    });
  });

  it('tells how much CPU the process used across a stall: little when it waited for a core', () => {
    const probe = new StallProbe(10);
    probe.observe(0, 0, 1_000);
    probe.observe(210, 1_000, 1_004);
    expect(probe.stall().recent).toEqual([
      { ms: 200, at: new Date(1_000).toISOString(), gcMs: 0, gcMajorMs: 0, cpuMs: 4, cpuWaitMs: null },
    ]);
  });

  it('tells how long the thread waited for a CPU across a stall, and since the first tick', () => {
    const probe = new StallProbe(10);
    probe.observe(0, 0, 0, 500);
    probe.observe(10, 0, 10, 500);
    // Held 200 ms past the period, 170 ms of it waiting for a CPU: the host's stall, not the node's.
    probe.observe(220, 1_000, 40, 670);
    const first = probe.stall();
    expect(first).toEqual({
      longestMs: 200,
      at: new Date(1_000).toISOString(),
      count: 1,
      cpuWaitMs: 170,
      recent: [
        { ms: 200, at: new Date(1_000).toISOString(), gcMs: 0, gcMajorMs: 0, cpuMs: 30, cpuWaitMs: 170 },
      ],
    });
    // The total alone moves: a new answer, the recent stalls kept as they were.
    probe.observe(230, 1_010, 45, 675);
    const second = probe.stall();
    expect(second.cpuWaitMs).toBe(175);
    expect(second.recent).toBe(first.recent);
    expect(probe.stall()).toBe(second);
    // A tick whose wait is unknown (the reader gave up) makes the next stall's wait unknown.
    probe.observe(240, 1_020, 50, undefined);
    probe.observe(300, 1_080, 60, 700);
    expect(probe.stall().recent.at(-1)).toEqual({
      ms: 50,
      at: new Date(1_080).toISOString(),
      gcMs: 0,
      gcMajorMs: 0,
      cpuMs: 10,
      cpuWaitMs: null,
    });
  });

  it('tells how late the timer runs now: a run overdue, else the latest run within two periods', () => {
    const probe = new StallProbe(10);
    expect(probe.lateNowMs(0)).toBe(0);
    probe.observe(0, 0, 0);
    expect(probe.lateNowMs(5)).toBe(0);
    // A timer's jitter below RECENT_STALL_MS is no stall.
    expect(probe.lateNowMs(10 + RECENT_STALL_MS - 1)).toBe(0);
    // Overdue: the next run was due at 10.
    expect(probe.lateNowMs(310)).toBe(300);
    probe.observe(310, 0, 310);
    // The late run is the latest news for two periods, then the on-time runs since count.
    expect(probe.lateNowMs(315)).toBe(300);
    expect(probe.lateNowMs(330)).toBe(300);
    probe.observe(320, 0, 320);
    expect(probe.lateNowMs(325)).toBe(0);
    // A stall still under way counts before its run comes.
    expect(probe.lateNowMs(900)).toBe(570);
  });

  it('hears real GC pauses once started', async () => {
    const probe = new StallProbe(10);
    probe.start();
    try {
      const began = performance.now();
      probe.observe(began - 10, Date.now(), cpuMs());
      // Hold the loop with allocation: at least 3 million short-lived objects (~100 MB, more than a
      // young generation, so the collector runs inside the stall at least once) and at least 40 ms
      // (a stall counts from 20 ms). Each object is stored, so the optimizer cannot leave out its
      // allocation: a loop whose objects never escaped once ran in under 20 ms, and no stall was seen.
      const kept: Array<{ k: number }> = new Array<{ k: number }>(1024);
      let k = 0;
      while (k < 3_000_000 || performance.now() - began < 40) {
        kept[k & 1023] = { k };
        k++;
      }
      expect(kept[(k - 1) & 1023]?.k).toBe(k - 1);
      const ended = performance.now();
      // The pauses are reported after the task that had them; the late tick is recorded here first.
      probe.observe(ended, Date.now(), cpuMs());
      await new Promise((r) => setTimeout(r, 50));
      const stall = probe.stall().recent.at(-1);
      expect(stall).toBeDefined();
      expect(stall!.gcMs).toBeGreaterThan(0);
      expect(stall!.gcMs).toBeLessThanOrEqual(stall!.ms);
      expect(stall!.cpuMs).toBeGreaterThan(0);
    } finally {
      probe.stop();
    }
  });

  it('hears a real major collection as major', async () => {
    // A full collection on demand: gc() is exposed to a fresh context once the flag is set.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const probe = new StallProbe(10);
    probe.start();
    try {
      const began = performance.now();
      probe.observe(began - 10, Date.now(), cpuMs());
      gc();
      // The stall must last at least RECENT_STALL_MS past the period to be kept.
      while (performance.now() - began < 2 * RECENT_STALL_MS) {
        // hold the loop
      }
      probe.observe(performance.now(), Date.now(), cpuMs());
      await new Promise((r) => setTimeout(r, 50));
      const stall = probe.stall().recent.at(-1);
      expect(stall).toBeDefined();
      expect(stall!.gcMajorMs).toBeGreaterThan(0);
      expect(stall!.gcMajorMs).toBeLessThanOrEqual(stall!.gcMs);
    } finally {
      probe.stop();
    }
  });
});
