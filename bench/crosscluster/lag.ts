/**
 * The lag phases of the crosscluster bench: a write load on the active cluster A (load-worker.ts)
 * for a window while MirrorPoll reads the passive leader of B. Two figures per phase:
 * - **measured** (ground truth), per grant: the answer time of the first /control/clusters poll
 *   whose version vector reached the grant's revision − the time the writer got the grant's answer
 *   (the commit was before that answer, so this errs low by at most the answer's way back);
 *   `fromSentMs` measures from the acquire's send instead (errs high by the write's own latency);
 *   the poll period bounds the resolution;
 * - **reported**: mesh_replication_lag_seconds as /metrics gave it, every scrape of the window.
 */
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { grpcEndpoints } from '@omnirelay/server';
import { summarizeMs } from '../compare/summary';
import type { SampleSummary } from '../compare/summary';
import { sleep, withDeadline } from '../compare/time';
import { progress } from '../support/stats';
import { startTsWorker, stopTsWorker } from '../support/ts-worker';
import type { CrossClusterConfig } from './config';
import type { LoadReport, LoadWorkerData } from './load-worker';
import { MirrorPoll } from './mirror-poll';
import type { ClusterPair } from './pair';

/** LOAD_TTL_MS is the TTL of the load's leases (each is released at once). */
const LOAD_TTL_MS = 10_000;
/** READY_MS_MAX bounds a load worker's start (a fresh thread loads the SDK through the TypeScript loader). */
const READY_MS_MAX = 60_000;
/** REPORT_MS_MAX bounds the load worker's report after `stop`. */
const REPORT_MS_MAX = 30_000;
/** WORKER_STOP_MS_MAX bounds the load worker's orderly stop. */
const WORKER_STOP_MS_MAX = 5000;
/** SETTLE_MS_MAX bounds the wait, after the load stops, for the mirror to reach its last grant. */
const SETTLE_MS_MAX = 30_000;

/** LagResult is one lag phase. */
export interface LagResult {
  readonly phase: 'idle' | 'load';
  readonly targetWritesPerS: number;
  /** achievedWritesPerS counts grants and resignations answered within the window. */
  readonly achievedWritesPerS: number;
  readonly grants: number;
  /** unseen counts grants whose revision the mirror had not reached when the phase ended. */
  readonly unseen: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly measuredMs: SampleSummary;
  readonly fromSentMs: SampleSummary;
  /** reportedS is mesh_replication_lag_seconds at each scrape, in seconds. */
  readonly reportedS: SampleSummary;
  /** viewLagS is replication.lagSeconds of every /control/clusters poll (the same gauge, read at 10× the rate). */
  readonly viewLagS: SampleSummary;
  /** pollRttMs is each poll's round trip: the resolution of the measured figure. */
  readonly pollRttMs: SampleSummary;
  /** statuses counts the replication statuses the polls saw. */
  readonly statuses: Readonly<Record<string, number>>;
}

/** answer waits for the worker's message of `type` (ready, report), or its error, for at most `ms`. */
function answer<T>(w: Worker, type: string, ms: number): Promise<T> {
  return withDeadline(
    new Promise<T>((resolve, reject) => {
      w.on('message', (m: { type: string }) => {
        if (m.type === type) resolve(m as T);
      });
      w.once('error', reject);
    }),
    ms,
    `the load worker's ${type}`,
  );
}

/** runLag runs one lag phase on `pair`: `writesPerS` writes a second on A for the window. */
export async function runLag(
  pair: ClusterPair,
  config: CrossClusterConfig,
  phase: LagResult['phase'],
  run: number,
): Promise<LagResult> {
  const writesPerS = phase === 'idle' ? config.idleWritesPerS : config.writesPerS;
  const poll = new MirrorPoll(pair.b, pair.bLeader, 'a', config.pollMs, config.scrapeMs);
  // The idle phase is one loop in one thread; the loaded phase spreads its rate and loops over
  // loadWorkers threads, each with its own client (one client's stream is one thread's CPU).
  const threads = phase === 'idle' ? 1 : config.loadWorkers;
  const workers = Array.from({ length: threads }, (_, k) => {
    const data: LoadWorkerData = {
      endpoints: grpcEndpoints(pair.a),
      writesPerS: writesPerS / threads,
      concurrency: phase === 'idle' ? 1 : Math.max(1, Math.round(config.loadConcurrency / threads)),
      ttlMs: LOAD_TTL_MS,
      scopePrefix: `lag-${run}-${phase}-${k}`,
    };
    const w = startTsWorker(join(__dirname, 'load-worker.ts'), data);
    return { w, ready: answer<unknown>(w, 'ready', READY_MS_MAX) };
  });
  let reports: LoadReport[];
  try {
    await Promise.all(workers.map((x) => x.ready));
    // Listening for the reports before `go`: none can come before `stop`.
    const reported = Promise.all(
      workers.map((x) => answer<LoadReport>(x.w, 'report', REPORT_MS_MAX + config.lagWindowMs)),
    );
    for (const x of workers) x.w.postMessage({ type: 'go' });
    await sleep(config.lagWindowMs);
    for (const x of workers) x.w.postMessage({ type: 'stop' });
    reports = await reported;
  } catch (e) {
    await poll.stop();
    throw e;
  } finally {
    // A worker that failed to start leaves its `ready` to time out: nobody waits for it any more.
    for (const x of workers) x.ready.catch(() => undefined);
    await Promise.all(workers.map((x) => stopTsWorker(x.w, WORKER_STOP_MS_MAX)));
  }
  const report = {
    grants: reports.flatMap((r) => r.grants),
    writes: reports.reduce((sum, r) => sum + r.writes, 0),
    fromMs: Math.min(...reports.map((r) => r.fromMs)),
    toMs: Math.max(...reports.map((r) => r.toMs)),
    errors: reports.reduce((sum, r) => sum + r.errors, 0),
    firstError: reports.find((r) => r.firstError !== undefined)?.firstError,
  };
  const last = report.grants.reduce((m, g) => Math.max(m, g[0]), 0);
  const settleFrom = performance.now();
  while (performance.now() - settleFrom < SETTLE_MS_MAX && (poll.polls.at(-1)?.revision ?? 0) < last) {
    await sleep(config.pollMs);
  }
  await poll.stop();
  const measured: number[] = [];
  const fromSent: number[] = [];
  let unseen = 0;
  for (const [revision, sentAtMs, answeredAtMs] of report.grants) {
    const seen = poll.seenAt(revision);
    if (seen === undefined) {
      unseen++;
      continue;
    }
    measured.push(seen.poll.receivedAtMs - answeredAtMs);
    fromSent.push(seen.poll.receivedAtMs - sentAtMs);
  }
  const statuses: Record<string, number> = {};
  for (const p of poll.polls) statuses[p.status] = (statuses[p.status] ?? 0) + 1;
  const result: LagResult = {
    phase,
    targetWritesPerS: writesPerS,
    achievedWritesPerS: report.writes / ((report.toMs - report.fromMs) / 1000),
    grants: report.grants.length,
    unseen,
    errors: report.errors,
    ...(report.firstError === undefined ? {} : { firstError: report.firstError }),
    measuredMs: summarizeMs(measured),
    fromSentMs: summarizeMs(fromSent),
    reportedS: summarizeMs(poll.scrapes),
    viewLagS: summarizeMs(poll.polls.map((p) => p.lagSeconds)),
    pollRttMs: summarizeMs(poll.polls.map((p) => p.receivedAtMs - p.sentAtMs)),
    statuses,
  };
  progress(
    `run ${run} lag ${phase}: ${result.achievedWritesPerS.toFixed(0)} writes/s (target ${writesPerS}), measured p50 ${result.measuredMs.p50.toFixed(1)} ms p99 ${result.measuredMs.p99.toFixed(1)} ms max ${result.measuredMs.max.toFixed(1)} ms; reported p50 ${result.reportedS.p50} s max ${result.reportedS.max} s; ${unseen} unseen, ${report.errors} errors`,
  );
  return result;
}
