import type { TargetRun } from '../bench/compare/results';
import { securityLabel } from '../bench/compare/security';
import type { SecurityMode } from '../bench/compare/security';
import type { SampleSummary } from '../bench/compare/summary';
import type { TargetName } from '../bench/compare/target';
import { ratioOrNull, renderTlsCost, tlsCost, tlsCostMet } from '../bench/compare/tls-cost';

function summary(p50: number, p99 = p50): SampleSummary {
  return { count: 1, min: p50, p50, p99, max: p99, samples: [p50] };
}

/** Figures are a run's cycles/s (at every concurrency), acquire p50 and renewals/s. */
type Figures = readonly [cyclesPerSecond: number, acquireP50: number, renewalsPerSecond: number];

/** run is one target's run with workloads (a) and (b) only. */
function run(target: TargetName, security: SecurityMode, index: number, figures: Figures): TargetRun {
  const [cyclesPerSecond, acquireP50, renewalsPerSecond] = figures;
  const cycles = (concurrency: number): NonNullable<TargetRun['cycles']>[number] => ({
    concurrency,
    measuredMs: 10_000,
    cyclesPerSecond,
    errors: 0,
    acquireMs: summary(acquireP50),
    releaseMs: summary(1),
  });
  return {
    target,
    security,
    run: index,
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 1,
    loadAverage: { start: [0, 0, 0], end: [0, 0, 0] },
    workloadMs: {},
    cycles: [cycles(1), cycles(128)],
    renewals: {
      leases: 10_000,
      inflight: 128,
      setupMs: 1,
      measuredMs: 10_000,
      renewalsPerSecond,
      errors: 0,
      renewMs: summary(2),
    },
    errors: {},
    notes: [],
  };
}

/** fourRuns is run `index` of both targets with TLS off and on, in the bench's order. */
function fourRuns(
  index: number,
  omniRelay: { off: Figures; tls: Figures },
  etcd: { off: Figures; tls: Figures },
): TargetRun[] {
  return [
    run('omnirelay', 'off', index, omniRelay.off),
    run('etcd', 'off', index, etcd.off),
    run('omnirelay', 'tls', index, omniRelay.tls),
    run('etcd', 'tls', index, etcd.tls),
  ];
}

const ETCD = { off: [400, 4, 10_000], tls: [300, 5, 9000] } as const;

describe('the TLS cost of the compare bench', () => {
  it('divides only finite figures, a non-negative one by a positive one', () => {
    expect(ratioOrNull(3, 2)).toBe(1.5);
    expect(ratioOrNull(0, 2)).toBe(0);
    expect(ratioOrNull(3, 0)).toBeNull();
    expect(ratioOrNull(-1, 2)).toBeNull();
    expect(ratioOrNull(1, -2)).toBeNull();
    expect(ratioOrNull(null, 2)).toBeNull();
    expect(ratioOrNull(Number.NaN, 2)).toBeNull();
  });

  it('meets the target when TLS slows OmniRelay no more than etcd, whichever way the figure improves', () => {
    expect(tlsCostMet('higher', 0.9, 0.8)).toBe(true);
    expect(tlsCostMet('higher', 0.8, 0.8)).toBe(true);
    expect(tlsCostMet('higher', 0.7, 0.8)).toBe(false);
    expect(tlsCostMet('lower', 1.1, 1.2)).toBe(true);
    expect(tlsCostMet('lower', 1.3, 1.2)).toBe(false);
    expect(tlsCostMet('lower', null, 1.2)).toBeNull();
    expect(tlsCostMet('higher', 0.9, null)).toBeNull();
  });

  it('compares the medians of each target under each setting', () => {
    const runs = [
      ...fourRuns(1, { off: [1000, 2, 50_000], tls: [900, 2.2, 45_000] }, ETCD),
      // Two more runs of OmniRelay: each figure is the median of the three.
      run('omnirelay', 'off', 2, [1000, 2, 50_000]),
      run('omnirelay', 'tls', 2, [700, 2.2, 45_000]),
      run('omnirelay', 'off', 3, [1000, 2, 50_000]),
      run('omnirelay', 'tls', 3, [800, 2.2, 45_000]),
    ];
    const rows = tlsCost(runs, { cyclesMax: 128 });
    const throughput = rows.find((r) => r.figure === 'cycles/s at c=128')!;
    expect(throughput).toMatchObject({
      workload: 'a',
      better: 'higher',
      omnirelay: { off: 1000, tls: 800 },
      etcd: { off: 400, tls: 300 },
      tlsCostMet: true,
    });
    expect(throughput.omniRelayOverEtcdTls).toBeCloseTo(800 / 300);
    expect(throughput.omniRelayTlsOverOff).toBeCloseTo(0.8);
    expect(throughput.etcdTlsOverOff).toBeCloseTo(0.75);

    const latency = rows.find((r) => r.figure === 'acquire p50 at c=1')!;
    expect(latency.omniRelayTlsOverOff).toBeCloseTo(1.1);
    expect(latency.etcdTlsOverOff).toBeCloseTo(1.25);
    expect(latency.tlsCostMet).toBe(true);

    const renewals = rows.find((r) => r.figure === 'renewals/s')!;
    expect(renewals.omniRelayTlsOverOff).toBeCloseTo(0.9);
    expect(renewals.etcdTlsOverOff).toBeCloseTo(0.9);
    expect(renewals.tlsCostMet).toBe(true);

    // Workloads the runs did not measure have no figures and no verdict.
    const crash = rows.find((r) => r.workload === 'c')!;
    expect(crash).toMatchObject({
      omnirelay: { off: null, tls: null },
      omniRelayTlsOverOff: null,
      tlsCostMet: null,
    });
  });

  it('writes one table row per figure, with n/a where a figure is missing', () => {
    const runs = fourRuns(1, { off: [1000, 2, 50_000], tls: [500, 4, 45_000] }, ETCD);
    const rows = tlsCost(runs, { cyclesMax: 128 });
    const table = renderTlsCost(rows, 1).split('\n');
    expect(table[0]).toContain('TLS cost (median of 1 run)');
    expect(table).toContainEqual(
      '| (a) cycles/s at c=128 (higher is better) | 1000/s | 500/s | 400/s | 300/s | 1.67× | 0.50× | 0.75× | **missed** |',
    );
    expect(table).toContainEqual(
      '| (c) crash failover, kill → first write, median (lower is better) | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |',
    );
    expect(table.filter((l) => l.startsWith('| ('))).toHaveLength(rows.length);
  });

  it('labels a target by its setting', () => {
    expect(securityLabel('etcd', 'off')).toBe('etcd');
    expect(securityLabel('omnirelay', 'tls')).toBe('omnirelay+tls');
  });
});
