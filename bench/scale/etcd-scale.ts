/**
 * The etcd side of the scale bench: a fresh 3-member etcd cluster; `leases` leases granted
 * (TTL `ttlMs` in whole seconds), each attached to its own key as compare's acquire does
 * (LeaseGrant + Txn), and kept alive through etcd's own LeaseKeepAlive streams the way etcd's
 * clients do: every lease once per TTL / 3 (clientv3's keep-alive period), starting as soon as it is
 * granted. As on OmniRelay's side, the leases are driven from `leaseWorkers` worker threads
 * (etcd-lease-worker.ts), each with its share of the leases, its own clients to the leader member
 * and its own keep-alive streams. Over a sustained window of the same length as OmniRelay's, the
 * members' CPU and RSS are sampled, so the bench can report CPU per lease per second as a ratio.
 */
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { progress } from '../support/stats';
import { startTsWorker, stopTsWorker } from '../support/ts-worker';
import { trackPids } from '../compare/children';
import { ensureEtcd } from '../compare/etcd-install';
import { EtcdTarget } from '../compare/etcd-target';
import { summarizeMs } from '../compare/summary';
import type { SampleSummary } from '../compare/summary';
import { sleep } from '../compare/time';
import type { ScaleConfig } from './config';
import type { EtcdLeaseWorkerData, EtcdWorkerReport } from './etcd-lease-worker';
import { ProcSampler, formatWindows } from './proc-stats';
import type { ProcWindow } from './proc-stats';
import { ask, share } from './worker-messages';

/** LEADER_MS_MAX bounds the wait for a leader. */
const LEADER_MS_MAX = 30_000;
/** FILL_MS_MAX bounds each worker's grants; past it the leases granted by then are kept alive. */
const FILL_MS_MAX = 600_000;
/** REPORT_MS_MAX bounds a worker's answer to `report` (and its `held` past FILL_MS_MAX). */
const REPORT_MS_MAX = 30_000;
/** FILL_PROGRESS_MS is how often the fill reports how many leases are held and lost so far. */
const FILL_PROGRESS_MS = 10_000;
/** WORKER_STOP_MS_MAX bounds a worker's orderly stop before it is terminated. */
const WORKER_STOP_MS_MAX = 5000;

/** EtcdScaleResult is the etcd half of bench/results/scale.json. */
export interface EtcdScaleResult {
  readonly version: string;
  /** leaseWorkers is how many threads drove the leases; keepAliveStreams how many streams they opened in all. */
  readonly leaseWorkers: number;
  readonly keepAliveStreams: number;
  readonly fillMs: number;
  readonly held: number;
  readonly acquireFailed: number;
  readonly windowMs: number;
  readonly nodes: Readonly<Record<string, ProcWindow>>;
  readonly renewalMs: SampleSummary;
  readonly renewalsPerS: number;
  /** renewalsFailed counts keep-alives that failed (deadline, broken stream) over the whole run; each is tried again. */
  readonly renewalsFailed: number;
  /** renewalsFailedInWindow counts those of the window. */
  readonly renewalsFailedInWindow: number;
  /** leasesLost counts leases a keep-alive found gone (over the whole run); heldAtEnd is what was held after the window. */
  readonly leasesLost: number;
  readonly heldAtEnd: number;
  /** renewLagMsMax is how late, at worst, a lease's keep-alive went out after it was due (in the window). */
  readonly renewLagMsMax: number;
}

/** runEtcdScale runs the etcd half; the workers and the cluster are stopped whatever happens. */
export async function runEtcdScale(config: ScaleConfig): Promise<EtcdScaleResult> {
  const etcd = await ensureEtcd();
  const target = new EtcdTarget(etcd.path, etcd.version);
  const untrack = trackPids(() => target.pids());
  const workers: Worker[] = [];
  try {
    progress(`etcd ${etcd.version}: starting a fresh 3-member cluster`);
    await target.start();
    const leader = await target.leader(LEADER_MS_MAX);
    const leasesPerWorker = share(config.leases, config.leaseWorkers);
    const acquiresPerWorker = share(config.etcdAcquireConcurrency, config.leaseWorkers);
    let first = 0;
    leasesPerWorker.forEach((leases, k) => {
      const data: EtcdLeaseWorkerData = {
        endpoint: target.clientUrl(leader),
        leader,
        firstLease: first,
        leases,
        ttlMs: config.ttlMs,
        acquireConcurrency: Math.max(1, acquiresPerWorker[k]!),
        streams: config.etcdKeepAliveStreams,
        inflightMax: config.etcdRenewInflightMax,
        fillMsMax: FILL_MS_MAX,
      };
      const w = startTsWorker(join(__dirname, 'etcd-lease-worker.ts'), data);
      // A worker that throws answers every pending ask with an error, rather than leaving it to its deadline.
      w.on('error', (e) =>
        w.emit('message', { type: 'error', message: `etcd lease worker ${k}: ${e.message}` }),
      );
      workers.push(w);
      first += leases;
    });
    progress(
      `etcd: ${workers.length} worker threads (${config.etcdKeepAliveStreams} clients and keep-alive streams each, to ${leader}) grant ${config.leases} leases (TTL ${config.ttlMs} ms), each kept alive from its grant`,
    );
    const fillStarted = performance.now();
    // Like OmniRelay's fill: every FILL_PROGRESS_MS, how far it got and whether leases granted
    // already are being lost (keep-alives not keeping up).
    const ticker = setInterval(() => {
      ask<EtcdWorkerReport>(workers, 'report', 'report', REPORT_MS_MAX).then(
        (now) => {
          const sum = (f: (r: EtcdWorkerReport) => number): number => now.reduce((a, r) => a + f(r), 0);
          progress(
            `etcd: fill ${((performance.now() - fillStarted) / 1000).toFixed(0)} s: ${sum((r) => r.held)} of ${config.leases} held, ${sum((r) => r.acquireFailed)} failed, ${sum((r) => r.lost)} lost, ${sum((r) => r.renewed)} keep-alives so far (${sum((r) => r.failed)} failed)`,
          );
        },
        () => undefined,
      );
    }, FILL_PROGRESS_MS);
    ticker.unref();
    let filled: { held: number; failed: number }[];
    try {
      filled = await ask<{ held: number; failed: number }>(workers, '', 'held', FILL_MS_MAX + REPORT_MS_MAX);
    } finally {
      clearInterval(ticker);
    }
    const fillMs = performance.now() - fillStarted;
    const held = filled.reduce((a, f) => a + f.held, 0);
    const acquireFailed = filled.reduce((a, f) => a + f.failed, 0);
    progress(`etcd: ${held} leases held in ${(fillMs / 1000).toFixed(1)} s (${acquireFailed} failed)`);

    const pids = target.pids();
    const sampler = new ProcSampler(pids);
    for (const w of workers) w.postMessage({ type: 'measure' });
    sampler.start();
    const windowStarted = performance.now();
    await sleep(config.durationMs);
    const windowMs = performance.now() - windowStarted;
    const windows = sampler.stop();
    const reports = await ask<EtcdWorkerReport>(workers, 'report', 'report', REPORT_MS_MAX);
    const sum = (f: (r: EtcdWorkerReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
    const renewalMs = summarizeMs(reports.flatMap((r) => r.renewalMs));
    const nodes: Record<string, ProcWindow> = {};
    windows.forEach((w, i) => (nodes[target.members[i] ?? String(w.pid)] = w));
    const result: EtcdScaleResult = {
      version: etcd.version,
      leaseWorkers: workers.length,
      keepAliveStreams: sum((r) => r.streamsOpened),
      fillMs,
      held,
      acquireFailed,
      windowMs,
      nodes,
      renewalMs,
      renewalsPerS: sum((r) => r.renewed) / (windowMs / 1000),
      renewalsFailed: sum((r) => r.failed),
      renewalsFailedInWindow: sum((r) => r.failedInWindow),
      leasesLost: sum((r) => r.lost),
      heldAtEnd: sum((r) => r.held),
      renewLagMsMax: Math.max(...reports.map((r) => r.lagMsMax)),
    };
    progress(
      `etcd: window ${(windowMs / 1000).toFixed(1)} s: renewals ${result.renewalsPerS.toFixed(0)}/s p50 ${renewalMs.p50.toFixed(1)} ms p99 ${renewalMs.p99.toFixed(1)} ms, ${result.renewalsFailedInWindow} failed (${result.renewalsFailed} in all), ${result.leasesLost} leases lost (${result.heldAtEnd} held), lag max ${result.renewLagMsMax.toFixed(0)} ms; ` +
        formatWindows(nodes),
    );
    return result;
  } finally {
    await Promise.all(workers.map((w) => stopTsWorker(w, WORKER_STOP_MS_MAX)));
    await target.stop();
    untrack();
  }
}
