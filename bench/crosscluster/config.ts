/**
 * CrossClusterConfig holds every count and duration of the crosscluster bench, from the command
 * line: `--runs N` (1), `--lag-window S` (each lag phase's window, 10), `--writes-per-s N` (the
 * loaded phase's target, 1,000), `--load-concurrency N` (128 loops in all), `--load-workers N` (the threads they run in, 2), `--poll-ms N` (the mirror poll
 * period, 10), `--worker-ttl-ms N` (the failover workers' lease TTL, 3,000).
 */
import { SetupError } from '../compare/etcd-install';

/** CrossClusterConfig is the validated configuration of one invocation. */
export interface CrossClusterConfig {
  readonly runs: number;
  readonly lagWindowMs: number;
  /** idleWritesPerS is the idle phase's probe rate: one acquire → release cycle every 200 ms. */
  readonly idleWritesPerS: number;
  readonly writesPerS: number;
  /** loadConcurrency is the loaded phase's acquire → resign loops in all, spread over loadWorkers threads. */
  readonly loadConcurrency: number;
  readonly loadWorkers: number;
  readonly pollMs: number;
  /** scrapeMs is the /metrics scrape period for mesh_replication_lag_seconds. */
  readonly scrapeMs: number;
  readonly workerTtlMs: number;
}

/** USAGE is printed for a bad command line. */
export const USAGE =
  'usage: npm run bench -- crosscluster [--runs N] [--lag-window S] [--writes-per-s N] [--load-concurrency N] [--load-workers N] [--poll-ms N] [--worker-ttl-ms N]';

const BOUNDS: Record<string, readonly [number, number]> = {
  '--runs': [1, 20],
  '--lag-window': [2, 600],
  '--writes-per-s': [10, 20_000],
  '--load-concurrency': [1, 1024],
  '--load-workers': [1, 16],
  '--poll-ms': [2, 1000],
  '--worker-ttl-ms': [1000, 60_000],
};

const DEFAULTS: Record<string, number> = {
  '--runs': 1,
  '--lag-window': 10,
  '--writes-per-s': 1000,
  '--load-concurrency': 128,
  '--load-workers': 2,
  '--poll-ms': 10,
  '--worker-ttl-ms': 3000,
};

/** parseCrossClusterConfig reads the arguments after the bench name; it throws SetupError on a bad one. */
export function parseCrossClusterConfig(argv: readonly string[]): CrossClusterConfig {
  const n: Record<string, number> = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const bounds = BOUNDS[name];
    if (bounds === undefined) throw new SetupError(`unknown option ${a}; ${USAGE}`);
    const text = eq > 0 ? a.slice(eq + 1) : argv[++i];
    const value = Number(text);
    if (text === undefined || !Number.isInteger(value) || value < bounds[0] || value > bounds[1]) {
      throw new SetupError(
        `${name} must be a whole number in [${bounds[0]}, ${bounds[1]}], not ${String(text)}`,
      );
    }
    n[name] = value;
  }
  return {
    runs: n['--runs']!,
    lagWindowMs: n['--lag-window']! * 1000,
    idleWritesPerS: 10,
    writesPerS: n['--writes-per-s']!,
    loadConcurrency: n['--load-concurrency']!,
    loadWorkers: n['--load-workers']!,
    pollMs: n['--poll-ms']!,
    scrapeMs: 100,
    workerTtlMs: n['--worker-ttl-ms']!,
  };
}
