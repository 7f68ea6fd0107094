/**
 * The markdown tables of the compare bench: each figure per target (the median of the per-run
 * figures; for a "max", the max over runs), the ratio OmniRelay / etcd, and the issue's target with
 * met / missed.
 */
import type { TargetRun } from './results';
import type { TargetName } from './target';
import { maxOf, median } from './summary';

/** Get reads one figure out of one target's run (undefined when the run has none). */
export type Get = (r: TargetRun) => number | undefined;

/** across collects one figure from every run of a target and combines them (median by default). */
export function across(
  runs: readonly TargetRun[],
  target: TargetName,
  get: Get,
  combine: (v: readonly number[]) => number = median,
): number {
  const values = runs
    .filter((r) => r.target === target)
    .map(get)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  return values.length === 0 ? Number.NaN : combine(values);
}

/** fmt writes a figure with its unit ('/s', 'ms', or '' for a count); n/a when it is not finite. */
export function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (unit === '') return String(Math.round(v));
  if (unit === '/s') return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}/s`;
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)} ${unit}`;
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

function verdict(ok: boolean | undefined): string {
  if (ok === undefined) return 'n/a';
  return ok ? '**met**' : '**missed**';
}

/** cycles reads a figure of workload (a) at `concurrency`. */
export const cycles =
  (concurrency: number, pick: (c: NonNullable<TargetRun['cycles']>[number]) => number): Get =>
  (r) => {
    const c = r.cycles?.find((x) => x.concurrency === concurrency);
    return c === undefined ? undefined : pick(c);
  };

/** maxWatchers is workload (e)'s result with the most watchers. */
export const maxWatchers = (r: TargetRun): NonNullable<TargetRun['watch']>[number] | undefined =>
  r.watch?.reduce<NonNullable<TargetRun['watch']>[number] | undefined>(
    (best, w) => (best === undefined || w.watchers > best.watchers ? w : best),
    undefined,
  );

/** oneWatcher is workload (e)'s result with one watcher. */
export const oneWatcher = (r: TargetRun): NonNullable<TargetRun['watch']>[number] | undefined =>
  r.watch?.find((w) => w.watchers === 1);

/** holder is workload (f)'s result without (false) or with (true) release-on-reset. */
export const holder =
  (withReset: boolean): ((r: TargetRun) => NonNullable<TargetRun['holder']>[number] | undefined) =>
  (r) =>
    r.holder?.find((h) => (h.releaseOnResetMs !== undefined) === withReset);

/** renderTables returns the main table (the issue's targets) and a table of the other figures. */
export function renderTables(runs: readonly TargetRun[], options: { readonly cyclesMax: number }): string {
  const o = (get: Get, combine?: (v: readonly number[]) => number): number =>
    across(runs, 'omnirelay', get, combine);
  const e = (get: Get, combine?: (v: readonly number[]) => number): number =>
    across(runs, 'etcd', get, combine);
  const runCount = new Set(runs.map((r) => r.run)).size;
  const rows: string[] = [
    `| figure (median of ${runCount} run${runCount === 1 ? '' : 's'}) | OmniRelay | etcd | OmniRelay / etcd | target | verdict |`,
    '|---|---|---|---|---|---|',
  ];
  const cMax = options.cyclesMax;

  // (a) throughput at the highest concurrency.
  const aO = o(cycles(cMax, (c) => c.cyclesPerSecond));
  const aE = e(cycles(cMax, (c) => c.cyclesPerSecond));
  rows.push(
    `| (a) acquire→release cycles/s at c=${cMax} | ${fmt(aO, '/s')} | ${fmt(aE, '/s')} | ${ratio(aO, aE)} | ≥ 3× etcd | ${verdict(Number.isFinite(aO / aE) ? aO / aE >= 3 : undefined)} |`,
  );
  const a1O = o(cycles(1, (c) => c.acquireMs.p50));
  const a1E = e(cycles(1, (c) => c.acquireMs.p50));
  rows.push(
    `| (a) acquire p50 at c=1 | ${fmt(a1O, 'ms')} | ${fmt(a1E, 'ms')} | ${ratio(a1O, a1E)} | ≤ 0.5× etcd | ${verdict(Number.isFinite(a1O / a1E) ? a1O / a1E <= 0.5 : undefined)} |`,
  );
  const bO = o((r) => r.renewals?.renewalsPerSecond);
  const bE = e((r) => r.renewals?.renewalsPerSecond);
  rows.push(
    `| (b) renewals/s (${runs.find((r) => r.renewals !== undefined)?.renewals?.leases ?? '?'} leases, ${runs.find((r) => r.renewals !== undefined)?.renewals?.inflight ?? '?'} in flight) | ${fmt(bO, '/s')} | ${fmt(bE, '/s')} | ${ratio(bO, bE)} | ≥ 5× etcd | ${verdict(Number.isFinite(bO / bE) ? bO / bE >= 5 : undefined)} |`,
  );
  const cMedO = o((r) => r.crash?.failoverMs.p50);
  const cMaxO = o((r) => r.crash?.failoverMs.max, maxOf);
  const cMedE = e((r) => r.crash?.failoverMs.p50);
  const cMaxE = e((r) => r.crash?.failoverMs.max, maxOf);
  rows.push(
    `| (c) crash failover, kill → first write: median / max | ${fmt(cMedO, 'ms')} / ${fmt(cMaxO, 'ms')} | ${fmt(cMedE, 'ms')} / ${fmt(cMaxE, 'ms')} | ${ratio(cMedO, cMedE)} / ${ratio(cMaxO, cMaxE)} | ≤ 150 ms / ≤ 400 ms | ${verdict(Number.isFinite(cMedO) && Number.isFinite(cMaxO) ? cMedO <= 150 && cMaxO <= 400 : undefined)} |`,
  );
  const dO = o((r) => r.transfer?.firstNewTermWriteMs.p50);
  const dE = e((r) => r.transfer?.firstNewTermWriteMs.p50);
  rows.push(
    `| (d) transfer → first new-term write, median | ${fmt(dO, 'ms')} | ${fmt(dE, 'ms')} | ${ratio(dO, dE)} | ≤ 25 ms | ${verdict(Number.isFinite(dO) ? dO <= 25 : undefined)} |`,
  );
  const nMax = runs.map(maxWatchers).find((w) => w !== undefined)?.watchers ?? 0;
  const eO = o((r) => maxWatchers(r)?.ackToSeenMs.p99);
  const eE = e((r) => maxWatchers(r)?.ackToSeenMs.p99);
  rows.push(
    `| (e) ${nMax.toLocaleString('en-US')} watchers, ack → seen p99 | ${fmt(eO, 'ms')} | ${fmt(eE, 'ms')} | ${ratio(eO, eE)} | ≤ 0.5× etcd | ${verdict(Number.isFinite(eO / eE) ? eO / eE <= 0.5 : undefined)} |`,
  );
  const ttlO = runs.find((r) => r.target === 'omnirelay' && r.holder !== undefined)?.holder?.[0]?.holderTtlMs;
  const ttlE = runs.find((r) => r.target === 'etcd' && r.holder !== undefined)?.holder?.[0]?.holderTtlMs;
  const fBound = (ttlO ?? 1000) + 100;
  const fMedO = o((r) => holder(false)(r)?.failoverMs.p50);
  const fMaxO = o((r) => holder(false)(r)?.failoverMs.max, maxOf);
  const fMedE = e((r) => holder(false)(r)?.failoverMs.p50);
  const fMaxE = e((r) => holder(false)(r)?.failoverMs.max, maxOf);
  const fNote = (med: number, max: number, bound: number): string =>
    !Number.isFinite(med)
      ? 'n/a'
      : `${verdict(med <= bound)} (median)${Number.isFinite(max) && max > bound ? `; max ${fmt(max, 'ms')} over` : ''}`;
  rows.push(
    `| (f) holder kill → second candidate holds, no release-on-reset: median / max (TTL ${ttlO ?? '?'} ms; etcd session ${ttlE ?? '?'} ms) | ${fmt(fMedO, 'ms')} / ${fmt(fMaxO, 'ms')} | ${fmt(fMedE, 'ms')} / ${fmt(fMaxE, 'ms')} | ${ratio(fMedO, fMedE)} | ≤ TTL + 100 ms = ${fBound} ms | ${fNote(fMedO, fMaxO, fBound)} |`,
  );
  const resetMs = runs
    .flatMap((r) => r.holder ?? [])
    .find((h) => h.releaseOnResetMs !== undefined)?.releaseOnResetMs;
  const gMedO = o((r) => holder(true)(r)?.failoverMs.p50);
  const gMaxO = o((r) => holder(true)(r)?.failoverMs.max, maxOf);
  rows.push(
    `| (f) same, with releaseOnResetMs=${resetMs ?? '?'}: median / max | ${fmt(gMedO, 'ms')} / ${fmt(gMaxO, 'ms')} | — | — | ≤ 200 ms | ${fNote(gMedO, gMaxO, 200)} |`,
  );

  // The other figures, for reading the main ones.
  const more: string[] = [
    '',
    '| other figures (median of runs) | OmniRelay | etcd | OmniRelay / etcd |',
    '|---|---|---|---|',
  ];
  const concurrencies = [...new Set(runs.flatMap((r) => (r.cycles ?? []).map((c) => c.concurrency)))].sort(
    (x, y) => x - y,
  );
  const line = (label: string, get: Get, unit: string, combine?: (v: readonly number[]) => number): void => {
    const vo = o(get, combine);
    const ve = e(get, combine);
    more.push(`| ${label} | ${fmt(vo, unit)} | ${fmt(ve, unit)} | ${ratio(vo, ve)} |`);
  };
  for (const c of concurrencies) {
    line(
      `(a) c=${c}: cycles/s`,
      cycles(c, (x) => x.cyclesPerSecond),
      '/s',
    );
    line(
      `(a) c=${c}: acquire p50`,
      cycles(c, (x) => x.acquireMs.p50),
      'ms',
    );
    line(
      `(a) c=${c}: acquire p99`,
      cycles(c, (x) => x.acquireMs.p99),
      'ms',
    );
    line(
      `(a) c=${c}: release p50`,
      cycles(c, (x) => x.releaseMs.p50),
      'ms',
    );
    line(
      `(a) c=${c}: release p99`,
      cycles(c, (x) => x.releaseMs.p99),
      'ms',
    );
  }
  line('(b) renewal p50', (r) => r.renewals?.renewMs.p50, 'ms');
  line('(b) renewal p99', (r) => r.renewals?.renewMs.p99, 'ms');
  line(
    '(c) failed repetitions (sum)',
    (r) => r.crash?.failures,
    '',
    (v) => v.reduce((x, y) => x + y, 0),
  );
  line('(d) transfer → first new-term write, max', (r) => r.transfer?.firstNewTermWriteMs.max, 'ms', maxOf);
  line('(d) transfer call answered, median', (r) => r.transfer?.transferCallMs.p50, 'ms');
  line('(e) 1 watcher: ack → seen p50', (r) => oneWatcher(r)?.ackToSeenMs.p50, 'ms');
  line('(e) 1 watcher: ack → seen p99', (r) => oneWatcher(r)?.ackToSeenMs.p99, 'ms');
  line(`(e) ${nMax} watchers: ack → seen p50`, (r) => maxWatchers(r)?.ackToSeenMs.p50, 'ms');
  line(`(e) ${nMax} watchers: ack → last watcher p50`, (r) => maxWatchers(r)?.ackToLastMs.p50, 'ms');
  line(`(e) ${nMax} watchers: ack → last watcher p99`, (r) => maxWatchers(r)?.ackToLastMs.p99, 'ms');
  line(
    '(e) missed events (sum over runs and watcher counts)',
    (r) => (r.watch ?? []).reduce((s, w) => s + w.missed, 0),
    '',
    (v) => v.reduce((x, y) => x + y, 0),
  );
  return [...rows, ...more].join('\n') + '\n';
}
