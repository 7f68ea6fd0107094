/**
 * OmniRelay vs etcd, side by side in one invocation (issue 8, and workload (f) of issue 9), so each
 * comparison is a ratio within one run on one machine:
 * - OmniRelay: 3 nodes on 127.0.0.1 through LocalCluster, driven by @omnirelay/client-sdk;
 * - etcd 3.4 (Debian's etcd-server, installed with apt when missing): 3 members on 127.0.0.1,
 *   driven by the `etcd3` npm client.
 * Each run gives each target a fresh cluster, a 5 s unreported warm-up, then workloads (a)–(f);
 * runs interleave the targets (OmniRelay, etcd, OmniRelay, etcd, …). With `--security off,tls` each
 * run measures both targets in plaintext, then both with TLS and client certificates (issue 16).
 * Output: progress on stderr, bench/results/compare.json, and a markdown table on stdout.
 * Run: npm run bench -- compare [--runs N] [--quick] [--only omnirelay|etcd] [--security off,tls]
 * (see bench/README.md)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { progress } from '../support/stats';
import { BENCH_CLIENT_NAME, BENCH_CLIENT_ROLES, mintBenchPki } from './bench-pki';
import type { BenchPki } from './bench-pki';
import { installExitHandler, trackPids } from './children';
import { parseConfig } from './config';
import type { CompareConfig } from './config';
import { ETCD_ELECTION_TIMEOUT_MS, ETCD_HEARTBEAT_INTERVAL_MS } from './etcd-cluster';
import { SetupError, ensureEtcd } from './etcd-install';
import { EtcdTarget } from './etcd-target';
import { OmniRelayTarget } from './omnirelay-target';
import { resultsJson } from './results';
import type { CompareResults, TargetRun, WorkloadKey } from './results';
import { securityLabel } from './security';
import type { SecurityMode } from './security';
import { renderTables } from './table';
import type { Target, TargetName } from './target';
import { renderTlsCost, tlsCost } from './tls-cost';
import { runCrash } from './workload-crash';
import { runCycles } from './workload-cycles';
import { runHolder } from './workload-holder';
import { runRenewals } from './workload-renewals';
import { runTransfer } from './workload-transfer';
import { runWatch } from './workload-watch';

/** SETUP describes, in the JSON, how each target runs. */
const SETUP = {
  omnirelay:
    'LocalCluster (3 node processes from packages/server/dist, 127.0.0.1, stock Raft settings: heartbeat 50 ms, election timeout 500 ms, fast failover on); @omnirelay/client-sdk, one client with every endpoint for acquire/release/renew/campaign/transfer, one client per member for the probe writes of (c) and (d)',
  etcd: `Debian etcd-server 3.4 (3 members, 127.0.0.1, --heartbeat-interval ${ETCD_HEARTBEAT_INTERVAL_MS} --election-timeout ${ETCD_ELECTION_TIMEOUT_MS}); etcd3 npm client, one client per member (no retries, no circuit breaker); calls through "the leader" use the leader member's client`,
  acquire:
    'OmniRelay: Leadership.Acquire (one Raft entry); etcd: LeaseGrant + Txn(create_revision(key)==0 → put(key, lease)) (two Raft entries), fence = the Txn header revision',
  release: 'OmniRelay: Lease.resign(); etcd: LeaseRevoke',
  renew:
    "OmniRelay: client.renew(lease) over the SDK's shared KeepAlive stream; etcd: one LeaseKeepAlive request over one long-lived stream on the leader member's client (etcd answers a stream's requests one by one)",
  probeWrite:
    'OmniRelay: acquire of a fresh scope through that member (resigned afterwards); etcd: one Put through that member',
  holder:
    "OmniRelay: a child process acquires with TTL 1 s (the SDK renews), second candidate = client.campaign; etcd: a child process campaigns with etcd3 Election (session TTL 2 s, etcd's minimum with a 1 s election timeout), second candidate = Election.campaign",
  tls: `security "tls" (--security): one CA and ECDSA P-256 certificates minted with omnirelay cert issue (packages/certs/src/issue.ts) for the run; node certificates (serverAuth + clientAuth, SANs spiffe://omnirelay/node/<id>, localhost, 127.0.0.1) and one client certificate "${BENCH_CLIENT_NAME}" (roles ${BENCH_CLIENT_ROLES.join(', ')}, scope prefix *). OmniRelay: --peer-tls-ca/-cert/-key (peer mTLS) and --client-tls-cert/-key/-ca (TLS on gRPC and HTTP, client certificate required); every SDK client, watch worker and holder uses tls: { ca, cert, key }. etcd: https client and peer URLs, --cert-file/--key-file --client-cert-auth --trusted-ca-file, --peer-cert-file/--peer-key-file --peer-client-cert-auth --peer-trusted-ca-file; every etcd3 client uses credentials { rootCertificate, privateKey, certChain }`,
} as const;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** workload runs one workload, recording its failure instead of ending the run. */
async function workload(
  run: TargetRun,
  key: WorkloadKey,
  config: CompareConfig,
  fn: () => Promise<void>,
): Promise<void> {
  if (!config.workloads.includes(key)) return;
  const started = performance.now();
  try {
    await fn();
  } catch (e) {
    run.errors[key] = message(e);
    progress(`${securityLabel(run.target, run.security)} (${key}) failed: ${message(e)}`);
  } finally {
    run.workloadMs[key] = Math.round(performance.now() - started);
  }
}

/** runTarget gives one target a fresh cluster and runs every workload on it. */
async function runTarget(target: Target, runIndex: number, config: CompareConfig): Promise<TargetRun> {
  const started = performance.now();
  const run: TargetRun = {
    target: target.name,
    security: target.security,
    run: runIndex,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    loadAverage: { start: loadavg(), end: [] },
    workloadMs: {},
    errors: {},
    notes: [],
  };
  const p = `r${runIndex}`;
  const label = securityLabel(target.name, target.security);
  progress(`run ${runIndex}/${config.runs}: ${label}: starting a fresh 3-member cluster`);
  try {
    await target.start();
    run.workloadMs.start = Math.round(performance.now() - started);
    progress(`${label}: leader ${await target.leader(30_000)}; warm-up ${config.clusterWarmupMs} ms`);
    const warmupStarted = performance.now();
    await runCycles(target, {
      concurrency: 16,
      warmupMs: 0,
      measureMs: config.clusterWarmupMs,
      ttlMs: config.cyclesLeaseTtlMs,
      scopePrefix: `warm/${p}`,
      report: false,
    });
    run.workloadMs.warmup = Math.round(performance.now() - warmupStarted);

    await workload(run, 'a', config, async () => {
      run.cycles = [];
      for (const concurrency of config.cyclesConcurrencies) {
        run.cycles.push(
          await runCycles(target, {
            concurrency,
            warmupMs: config.cyclesWarmupMs,
            measureMs: config.cyclesMeasureMs,
            ttlMs: config.cyclesLeaseTtlMs,
            scopePrefix: `a/${p}/c${concurrency}`,
            report: true,
          }),
        );
      }
    });
    await workload(run, 'c', config, async () => {
      run.crash = await runCrash(target, {
        repetitions: config.crashRepetitions,
        probeIntervalMs: config.crashProbeIntervalMs,
        probeDeadlineMs: config.crashProbeDeadlineMs,
        settleMs: config.crashSettleMs,
        keyPrefix: `c/${p}`,
      });
    });
    await workload(run, 'd', config, async () => {
      run.transfer = await runTransfer(target, {
        repetitions: config.transferRepetitions,
        probeIntervalMs: config.crashProbeIntervalMs,
        probeDeadlineMs: config.crashProbeDeadlineMs,
        settleMs: config.transferSettleMs,
        keyPrefix: `d/${p}`,
      });
    });
    await workload(run, 'e', config, async () => {
      run.watch = [];
      for (const watchers of config.watchWatcherCounts) {
        run.watch.push(
          await runWatch(target, {
            watchers,
            workersMax: config.watchWorkersMax,
            writes: config.watchWrites,
            seenWaitMs: config.watchSeenWaitMs,
            ttlMs: config.cyclesLeaseTtlMs,
            scopePrefix: `e/${p}/n${watchers}`,
          }),
        );
      }
    });
    await workload(run, 'f', config, async () => {
      run.holder = [];
      const variants: Array<number | undefined> =
        target.name === 'omnirelay' ? [undefined, config.holderReleaseOnResetMs] : [undefined];
      for (const releaseOnResetMs of variants) {
        run.holder.push(
          await runHolder(target, {
            repetitions: config.holderRepetitions,
            releaseOnResetMs,
            queueMs: config.holderQueueMs,
            scopePrefix: `f/${p}/${releaseOnResetMs === undefined ? 'plain' : `reset${releaseOnResetMs}`}`,
          }),
        );
      }
    });
    // (b) runs last: the leases it holds would weigh on every later workload.
    await workload(run, 'b', config, async () => {
      run.renewals = await runRenewals(target, {
        leases: config.renewLeases,
        ttlMs: config.renewLeaseTtlMs,
        inflight: config.renewInflight,
        measureMs: config.renewMeasureMs,
        scopePrefix: `b/${p}`,
      });
    });
  } catch (e) {
    run.errors.cluster = message(e);
    progress(`${label} run ${runIndex} failed: ${message(e)}`);
  } finally {
    await target.stop().catch((e: unknown) => progress(`${label}: stop failed: ${message(e)}`));
    run.durationMs = performance.now() - started;
    run.loadAverage.end = loadavg();
    const steps = Object.entries(run.workloadMs)
      .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(0)} s`)
      .join(', ');
    progress(
      `run ${runIndex}/${config.runs}: ${label}: done in ${(run.durationMs / 1000).toFixed(0)} s (${steps})`,
    );
  }
  return run;
}

async function main(): Promise<void> {
  installExitHandler();
  const config = parseConfig(process.argv.slice(2));
  const began = performance.now();
  const skipped: Partial<Record<TargetName, string>> = {};
  /** targets[mode] are the targets a run measures under that security setting, in order. */
  const targets = new Map<SecurityMode, Target[]>(config.security.map((mode) => [mode, []]));
  let etcdVersion: string | undefined;
  let pki: BenchPki | undefined;
  if (config.security.includes('tls')) {
    const minted = await mintBenchPki([
      ...(config.only !== 'etcd' ? OmniRelayTarget.MEMBERS : []),
      ...(config.only !== 'omnirelay' ? EtcdTarget.MEMBERS : []),
    ]);
    pki = minted;
    process.on('exit', () => minted.remove());
    progress(`TLS runs: certificates minted with omnirelay cert issue in ${minted.dir}`);
  }

  if (config.only !== 'etcd') {
    for (const [mode, list] of targets) {
      list.push(
        new OmniRelayTarget({
          cpuProfDir: config.cpuProfDir,
          pki: mode === 'tls' ? pki : undefined,
          nodeArgs: config.nodeArgs,
        }),
      );
    }
    if (config.cpuProfDir !== undefined)
      progress(`OmniRelay nodes write CPU profiles to ${config.cpuProfDir}`);
  }
  if (config.only !== 'omnirelay') {
    const etcd = await ensureEtcd();
    etcdVersion = etcd.version;
    progress(`etcd ${etcd.version} at ${etcd.path}`);
    for (const [mode, list] of targets) {
      const target = new EtcdTarget(etcd.path, etcd.version, mode === 'tls' ? pki : undefined);
      trackPids(() => target.pids());
      list.push(target);
    }
  }
  const omniRelayVersion = [...targets.values()].flat().find((t) => t.name === 'omnirelay')?.version;

  const results: CompareResults = {
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      platform: `${platform()} ${release()}`,
      node: process.version,
      etcd: etcdVersion,
      omnirelay: omniRelayVersion,
      loadAverageAtStart: loadavg(),
    },
    setup: SETUP,
    config,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    skipped,
    runs: [],
  };
  const out = join(__dirname, '../results/compare.json');
  mkdirSync(join(__dirname, '../results'), { recursive: true });
  const save = (): void => {
    results.durationMs = performance.now() - began;
    writeFileSync(out, resultsJson(results));
  };

  for (let run = 1; run <= config.runs; run++) {
    for (const list of targets.values()) {
      for (const target of list) {
        results.runs.push(await runTarget(target, run, config));
        save();
      }
    }
  }
  const cyclesMax = Math.max(...config.cyclesConcurrencies);
  const tables = config.security.map((mode) => {
    const table = renderTables(
      results.runs.filter((r) => r.security === mode),
      { cyclesMax },
    );
    return config.security.length === 1 ? table : `### security: ${mode}\n\n${table}`;
  });
  if (config.security.includes('off') && config.security.includes('tls')) {
    results.tlsCost = tlsCost(results.runs, { cyclesMax });
    tables.push(`### TLS on / TLS off\n\n${renderTlsCost(results.tlsCost, config.runs)}`);
  }
  results.table = tables.join('\n');
  save();
  pki?.remove();
  const failures = results.runs.flatMap((r) =>
    Object.entries(r.errors).map(
      ([k, v]) => `- run ${r.run} ${securityLabel(r.target, r.security)} (${k}): ${v}`,
    ),
  );
  process.stdout.write(
    [
      `OmniRelay vs etcd ${etcdVersion ?? ''}: ${config.runs} run(s), security ${config.security.join(', ')}${config.quick ? ' (--quick smoke mode: short windows, not figures to quote)' : ''}, ${results.machine.cpus} CPUs, Node ${process.version}`,
      '',
      results.table,
      ...Object.entries(skipped).map(([t, why]) => `skipped ${t}: ${why}`),
      ...(failures.length > 0 ? ['failed workloads:', ...failures, ''] : []),
      `written to ${out} in ${(results.durationMs / 1000).toFixed(0)} s`,
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  const text = e instanceof SetupError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`compare bench failed: ${text}\n`);
  process.exit(e instanceof SetupError ? 2 : 1);
});
