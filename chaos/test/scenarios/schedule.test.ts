import { join } from 'node:path';
import { loadScenarios } from '../../src/scenarios/load';
import { planSchedule } from '../../src/scenarios/schedule';

describe('planSchedule', () => {
  const scenarios = loadScenarios(join(__dirname, '../../chaos-scenarios.yaml'));

  it('is a function of the seed: one seed, one schedule; another seed, other times', () => {
    for (const s of scenarios) expect(planSchedule(s, 42)).toEqual(planSchedule(s, 42));
    const kill = scenarios.find((s) => s.name === 'leader-kill')!;
    expect(planSchedule(kill, 1)[0]?.atMs).not.toBe(planSchedule(kill, 2)[0]?.atMs);
  });

  it('keeps random faults inside their window, in time order', () => {
    const s = scenarios.find((x) => x.name === 'follower-kill')!;
    const plan = planSchedule(s, 7);
    expect(plan).toHaveLength(3);
    for (const f of plan) expect(f.atMs >= 4000 && f.atMs <= 30_000).toBe(true);
    expect([...plan].sort((a, b) => a.atMs - b.atMs)).toEqual(plan);
  });

  it('gives a holder pause longer than the TTL by default', () => {
    const s = {
      ...scenarios.find((x) => x.name === 'holder-pause')!,
      faults: [{ kind: 'pause-holder' as const, at: 1 }],
    };
    expect(planSchedule(s, 1)[0]?.durationMs).toBeGreaterThan(s.workload.ttlMs);
  });
});
