/**
 * What TLS costs each system (issue 16's closing figures): for a figure of every workload, the
 * median over runs of OmniRelay and etcd with TLS off and on, OmniRelay / etcd with TLS on, and each
 * system's own TLS-on / TLS-off ratio. The target: TLS costs OmniRelay no more than it costs etcd,
 * i.e. OmniRelay's TLS-on / TLS-off ratio is no worse than etcd's.
 */
import type { TargetRun, WorkloadKey } from './results';
import type { SecurityMode } from './security';
import { across, cycles, fmt, holder, maxWatchers, oneWatcher } from './table';
import type { Get } from './table';
import type { TargetName } from './target';

/** Better says which way a figure improves: a throughput `higher`, a latency `lower`. */
export type Better = 'higher' | 'lower';

/** TlsCostFigure is one figure the comparison reads out of every run. */
export interface TlsCostFigure {
  readonly workload: WorkloadKey;
  readonly figure: string;
  readonly unit: '/s' | 'ms';
  readonly better: Better;
  readonly get: Get;
}

/** TlsCostRow is one figure's medians and ratios; null where a run had no figure or a ratio means nothing. */
export interface TlsCostRow {
  readonly workload: WorkloadKey;
  readonly figure: string;
  readonly unit: '/s' | 'ms';
  readonly better: Better;
  readonly omnirelay: { readonly off: number | null; readonly tls: number | null };
  readonly etcd: { readonly off: number | null; readonly tls: number | null };
  /** omniRelayOverEtcdTls is OmniRelay / etcd with TLS on. */
  readonly omniRelayOverEtcdTls: number | null;
  /** omniRelayTlsOverOff is OmniRelay's TLS-on / TLS-off ratio. */
  readonly omniRelayTlsOverOff: number | null;
  /** etcdTlsOverOff is etcd's TLS-on / TLS-off ratio. */
  readonly etcdTlsOverOff: number | null;
  /** tlsCostMet: see tlsCostMet. */
  readonly tlsCostMet: boolean | null;
}

/**
 * tlsCostFigures are the figures compared, per workload: (a) cycles/s at concurrency 1 and
 * `cyclesMax`, acquire p50 at 1 and p99 at `cyclesMax`; (b) renewals/s and renewal p50; (c) crash
 * failover median; (d) transfer → first new-term write median; (e) 1 watcher ack → seen p50 and
 * `watchersMax` watchers ack → seen p99; (f) holder failover median, without release-on-reset and
 * with it (OmniRelay only).
 */
export function tlsCostFigures(cyclesMax: number, watchersMax: number): TlsCostFigure[] {
  return [
    {
      workload: 'a',
      figure: 'cycles/s at c=1',
      unit: '/s',
      better: 'higher',
      get: cycles(1, (c) => c.cyclesPerSecond),
    },
    {
      workload: 'a',
      figure: `cycles/s at c=${cyclesMax}`,
      unit: '/s',
      better: 'higher',
      get: cycles(cyclesMax, (c) => c.cyclesPerSecond),
    },
    {
      workload: 'a',
      figure: 'acquire p50 at c=1',
      unit: 'ms',
      better: 'lower',
      get: cycles(1, (c) => c.acquireMs.p50),
    },
    {
      workload: 'a',
      figure: `acquire p99 at c=${cyclesMax}`,
      unit: 'ms',
      better: 'lower',
      get: cycles(cyclesMax, (c) => c.acquireMs.p99),
    },
    {
      workload: 'b',
      figure: 'renewals/s',
      unit: '/s',
      better: 'higher',
      get: (r) => r.renewals?.renewalsPerSecond,
    },
    {
      workload: 'b',
      figure: 'renewal p50',
      unit: 'ms',
      better: 'lower',
      get: (r) => r.renewals?.renewMs.p50,
    },
    {
      workload: 'c',
      figure: 'crash failover, kill → first write, median',
      unit: 'ms',
      better: 'lower',
      get: (r) => r.crash?.failoverMs.p50,
    },
    {
      workload: 'd',
      figure: 'transfer → first new-term write, median',
      unit: 'ms',
      better: 'lower',
      get: (r) => r.transfer?.firstNewTermWriteMs.p50,
    },
    {
      workload: 'e',
      figure: '1 watcher, ack → seen p50',
      unit: 'ms',
      better: 'lower',
      get: (r) => oneWatcher(r)?.ackToSeenMs.p50,
    },
    {
      workload: 'e',
      figure: `${watchersMax.toLocaleString('en-US')} watchers, ack → seen p99`,
      unit: 'ms',
      better: 'lower',
      get: (r) => maxWatchers(r)?.ackToSeenMs.p99,
    },
    {
      workload: 'f',
      figure: 'holder kill → second candidate holds, median',
      unit: 'ms',
      better: 'lower',
      get: (r) => holder(false)(r)?.failoverMs.p50,
    },
    {
      workload: 'f',
      figure: 'same, with release-on-reset (OmniRelay only), median',
      unit: 'ms',
      better: 'lower',
      get: (r) => holder(true)(r)?.failoverMs.p50,
    },
  ];
}

/**
 * ratioOrNull is a / b when both are finite, a ≥ 0 and b > 0; otherwise null (a latency in (e)
 * can be negative, and a ratio of signed or zero figures says nothing about a cost).
 */
export function ratioOrNull(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  return a >= 0 && b > 0 ? a / b : null;
}

/**
 * tlsCostMet tells whether TLS costs OmniRelay no more than it costs etcd: for a throughput,
 * OmniRelay's TLS-on / TLS-off ratio is at least etcd's; for a latency, at most etcd's. Null when
 * either ratio is missing.
 */
export function tlsCostMet(
  better: Better,
  omniRelayTlsOverOff: number | null,
  etcdTlsOverOff: number | null,
): boolean | null {
  if (omniRelayTlsOverOff === null || etcdTlsOverOff === null) return null;
  return better === 'higher' ? omniRelayTlsOverOff >= etcdTlsOverOff : omniRelayTlsOverOff <= etcdTlsOverOff;
}

/** tlsCost computes every row of tlsCostFigures from the runs (median over runs per target and setting). */
export function tlsCost(runs: readonly TargetRun[], options: { readonly cyclesMax: number }): TlsCostRow[] {
  const watchersMax = runs.map(maxWatchers).find((w) => w !== undefined)?.watchers ?? 0;
  const value = (target: TargetName, security: SecurityMode, get: Get): number | null => {
    const v = across(
      runs.filter((r) => r.security === security),
      target,
      get,
    );
    return Number.isFinite(v) ? v : null;
  };
  return tlsCostFigures(options.cyclesMax, watchersMax).map((f) => {
    const omnirelay = { off: value('omnirelay', 'off', f.get), tls: value('omnirelay', 'tls', f.get) };
    const etcd = { off: value('etcd', 'off', f.get), tls: value('etcd', 'tls', f.get) };
    const omniRelayTlsOverOff = ratioOrNull(omnirelay.tls, omnirelay.off);
    const etcdTlsOverOff = ratioOrNull(etcd.tls, etcd.off);
    return {
      workload: f.workload,
      figure: f.figure,
      unit: f.unit,
      better: f.better,
      omnirelay,
      etcd,
      omniRelayOverEtcdTls: ratioOrNull(omnirelay.tls, etcd.tls),
      omniRelayTlsOverOff,
      etcdTlsOverOff,
      tlsCostMet: tlsCostMet(f.better, omniRelayTlsOverOff, etcdTlsOverOff),
    };
  });
}

function times(r: number | null): string {
  return r === null ? 'n/a' : `${r.toFixed(2)}×`;
}

/** renderTlsCost is the markdown table of `rows`, under a title saying over how many runs. */
export function renderTlsCost(rows: readonly TlsCostRow[], runCount: number): string {
  const lines = [
    `| TLS cost (median of ${runCount} run${runCount === 1 ? '' : 's'}) | OmniRelay off | OmniRelay TLS | etcd off | etcd TLS | OmniRelay / etcd, TLS on | OmniRelay TLS / off | etcd TLS / off | TLS costs OmniRelay ≤ etcd |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const v = (x: number | null): string => fmt(x ?? Number.NaN, r.unit);
    const met = r.tlsCostMet === null ? 'n/a' : r.tlsCostMet ? '**met**' : '**missed**';
    lines.push(
      `| (${r.workload}) ${r.figure} (${r.better} is better) | ${v(r.omnirelay.off)} | ${v(r.omnirelay.tls)} | ${v(r.etcd.off)} | ${v(r.etcd.tls)} | ${times(r.omniRelayOverEtcdTls)} | ${times(r.omniRelayTlsOverOff)} | ${times(r.etcdTlsOverOff)} | ${met} |`,
    );
  }
  return lines.join('\n') + '\n';
}
