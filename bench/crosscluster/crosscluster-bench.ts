/**
 * `npm run bench -- crosscluster [--runs N]` (issue 21): two 3-node OmniRelay clusters on
 * 127.0.0.1, B passive following A. Each run: on one pair, replication lag at idle and under load,
 * then a planned failover (`omnirelay mesh clusters promote b`); on a fresh pair, an emergency
 * failover (kill -9 of every node of A, then `promote b --force`). Writes
 * bench/results/crosscluster.json and prints the table (table.ts). Every process it starts is
 * stopped by PID, also when a phase fails (compare/children.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { installExitHandler } from '../compare/children';
import { resultsJson } from '../compare/results';
import { runBenchMain } from '../support/bench-main';
import { progress } from '../support/stats';
import type { CrossClusterConfig } from './config';
import { parseCrossClusterConfig } from './config';
import { CLUSTER_CHECK_MS } from './fenced-workers';
import { runFailover } from './failover';
import { runLag } from './lag';
import type { ClusterPair } from './pair';
import { startPair } from './pair';
import type { CrossClusterRun } from './table';
import { renderTable } from './table';

/** SETUP says how the bench runs, in the JSON. */
const SETUP: Readonly<Record<string, string>> = {
  clusters:
    'two fresh LocalClusters of 3 server processes each on 127.0.0.1 (separate data folders), --election-timeout-ms 3000 --heartbeat-ms 300 (CALM_ELECTION_FLAGS); A active, B passive following A',
  write:
    'one holder change on A: an acquire (a grant) or a resign (the release of the lease), through the SDK; the load runs acquire → resign cycles on distinct scopes in loadWorkers threads (one client each), paced at writesPerS / 2 cycles a second; achievedWritesPerS counts the writes answered within the window',
  measuredLag:
    "per grant: the answer time of the first poll of B leader's GET /control/clusters whose versionVector.a reached the grant's revision − the time the writer had the grant's answer",
  reportedLag: "mesh_replication_lag_seconds scraped from B leader's /metrics",
  planned:
    'omnirelay --endpoints <B> mesh clusters promote b (the real binary) → first grant on B to a LeaderElector worker',
  emergency:
    "SIGKILL of A's 3 nodes → (B leader's replication.status = disconnected: the detection delay) → omnirelay mesh clusters promote b --force → first grant on B; the workers' clients follow on their own",
  workers: `2 workers, each createClient({ clusters: [a, b], clusterCheckMs: ${CLUSTER_CHECK_MS} }) + LeaderElector on one scope, writing through one FenceGuard every 20 ms while their lease is valid`,
};

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function withPair(
  what: string,
  run: CrossClusterRun,
  body: (pair: ClusterPair) => Promise<void>,
): Promise<void> {
  let pair: ClusterPair | undefined;
  try {
    progress(`run ${run.run}: starting A and B for ${what}`);
    pair = await startPair();
    await body(pair);
  } catch (e) {
    run.errors[what] = message(e);
    progress(`run ${run.run} ${what} failed: ${message(e)}`);
  } finally {
    await pair?.stop();
  }
}

async function oneRun(config: CrossClusterConfig, n: number): Promise<CrossClusterRun> {
  const run: CrossClusterRun = { run: n, lag: {}, errors: {} };
  await withPair('lag and planned failover', run, async (pair) => {
    run.lag.idle = await runLag(pair, config, 'idle', n);
    run.lag.load = await runLag(pair, config, 'load', n);
    run.planned = await runFailover(pair, 'planned', n, config.workerTtlMs);
  });
  await withPair('emergency failover', run, async (pair) => {
    run.emergency = await runFailover(pair, 'emergency', n, config.workerTtlMs);
  });
  return run;
}

async function main(): Promise<void> {
  const config = parseCrossClusterConfig(process.argv.slice(2));
  installExitHandler();
  const began = performance.now();
  const runs: CrossClusterRun[] = [];
  const startedAt = new Date().toISOString();
  const loadAverageStart = loadavg();
  for (let n = 1; n <= config.runs; n++) runs.push(await oneRun(config, n));
  const table = renderTable(runs);
  const results = {
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memoryBytes: totalmem(),
      node: process.version,
      loadAverageStart,
      loadAverageEnd: loadavg(),
    },
    setup: SETUP,
    config,
    startedAt,
    durationMs: performance.now() - began,
    runs,
    table,
  };
  const out = join(__dirname, '../results/crosscluster.json');
  mkdirSync(join(__dirname, '../results'), { recursive: true });
  writeFileSync(out, resultsJson(results));
  process.stdout.write(`${table}\nwritten to ${out} in ${(results.durationMs / 1000).toFixed(0)} s\n`);
}

runBenchMain(main);
