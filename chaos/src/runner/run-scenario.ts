import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupRegistry } from '../harness/cleanup';
import { FakeClock, libfaketimePath } from '../harness/clocks';
import { SmallDisk } from '../harness/disk';
import { netnsAvailable } from '../harness/network';
import { NftPartitions } from '../harness/partitions';
import { ManagedProcess } from '../harness/processes';
import { readRunFolder } from '../read-run';
import { checkRun } from '../run-checks';
import type { Scenario } from '../scenarios/schema';
import type { PlannedFault } from '../scenarios/schedule';
import { planSchedule, stopBeforeWriteWorker } from '../scenarios/schedule';
import { KernelClock, TIMER_LIST } from '../workload/kernel-clock';
import { readAudit } from './audit';
import { ChaosCluster } from './cluster';
import type { FaultContext, Heal } from './faults';
import { applyFault } from './faults';
import type { RunReport } from './report';
import { junitXml } from './report';
import { Timeline } from './timeline';
import { CLIENT_HOST, REPO_ROOT, SWC_ENV, Topology, swcArgs } from './topology';

/** SMALL_DISK_BYTES is the size of each node's tmpfs data disk in runs with disk faults. */
export const SMALL_DISK_BYTES = 64 << 20;
/** WORKER_EXIT_GRACE_MS is how long workers may take to finish after the run's duration. */
export const WORKER_EXIT_GRACE_MS = 20_000;

/** RunOptions configure one scenario run. */
export interface RunOptions {
  readonly scenario: Scenario;
  readonly seed: number;
  /** durationS overrides the scenario's duration (faults past it are dropped). */
  readonly durationS?: number;
  readonly outDir: string;
  /** netns: `auto` uses namespaces where they can be made, `off` forces loopback, `on` requires them. */
  readonly netns: 'auto' | 'on' | 'off';
  readonly cleanup: CleanupRegistry;
  readonly progress: (line: string) => void;
  /** scenariosFile is the scenarios file the scenario came from, when not the default (for the replay command). */
  readonly scenariosFile?: string;
}

/** workloadEntries returns the store and worker entries (chaos/src/workload, task h17b). */
export function workloadEntries(): { store: string; worker: string } {
  return {
    store: join(REPO_ROOT, 'chaos/src/workload/store.ts'),
    worker: join(REPO_ROOT, 'chaos/src/workload/worker.ts'),
  };
}

/**
 * replayCommand is the command that replays a run: same scenario, same seed, same duration, and
 * the same scenarios file when it is not the default one.
 */
export function replayCommand(
  scenario: string,
  seed: number,
  durationS: number | undefined,
  scenariosFile?: string,
): string {
  return [
    `npm run chaos -- --scenario ${scenario} --seed ${seed}`,
    durationS === undefined ? '' : ` --duration ${durationS}`,
    scenariosFile === undefined ? '' : ` --scenarios ${scenariosFile}`,
  ].join('');
}

/** kernelClockReadable says whether this process (and so a worker it starts) can read KernelClock. */
function kernelClockReadable(): boolean {
  try {
    new KernelClock().close();
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * runScenario runs one scenario end to end: the cluster in its namespaces (or on loopback), the
 * link proxies, the store and the workers; the seeded fault schedule, written to timeline.jsonl;
 * then the audit read back from revision 1, slo.json, the checkers, report.json and junit.xml.
 * Everything it starts is stopped through `cleanup` before it returns, whatever happens.
 */
export async function runScenario(options: RunOptions): Promise<RunReport> {
  const { scenario, seed, cleanup, progress } = options;
  const started = performance.now();
  const durationMs = Math.round((options.durationS ?? scenario.durationS) * 1000);
  const runDir = join(options.outDir, `${scenario.name}-${seed}`);
  // A replay into the same folder starts clean: histories are appended to, never mixed across runs.
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(join(runDir, 'logs'), { recursive: true });
  const say = (line: string): void =>
    progress(`[${scenario.name} ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const errors: string[] = [];
  const useNetns = options.netns === 'off' ? false : netnsAvailable();
  if (options.netns === 'on' && !useNetns)
    throw new Error('--netns on: network namespaces cannot be made here (root and iproute2 needed)');
  const entries = workloadEntries();
  const schedule: PlannedFault[] = planSchedule(scenario, seed).filter((f) => f.atMs < durationMs);
  const kinds = new Set(schedule.map((f) => f.kind));
  const ids = Array.from({ length: scenario.nodes }, (_, i) => `n${i + 1}`);
  const joiners = schedule
    .filter((f) => f.kind === 'membership-change')
    .map((_, i) => `n${scenario.nodes + i + 1}`);
  const timeline = new Timeline(join(runDir, 'timeline.jsonl'), say);
  writeFileSync(join(runDir, 'timeline.jsonl'), '');
  let verdict: RunReport['verdict'];
  let mode: RunReport['mode'] = useNetns ? 'netns' : 'loopback';
  try {
    say(
      `seed ${seed}, ${scenario.nodes} nodes, ${durationMs / 1000} s, ${schedule.length} faults, ${useNetns ? 'network namespaces' : 'loopback'}`,
    );
    const topology = await Topology.create([...ids, ...joiners], useNetns, runDir, cleanup);
    mode = topology.mode;
    say(`${mode === 'netns' ? 'namespaces' : 'loopback addresses'} ready`);
    const clocks = new Map<string, FakeClock>();
    if (kinds.has('clock-skew') || kinds.has('clock-jump')) {
      if (libfaketimePath() === undefined)
        throw new Error('clock faults need libfaketime (apt-get install faketime)');
      for (const id of ids) clocks.set(id, new FakeClock(join(runDir, `faketime-${id}`)));
    }
    // A node on its own clock fakes its monotonic clock too (lease time and every timer follow
    // it), fixed for the process's life: libfaketime applies the rate from each process's start.
    for (const c of scenario.nodeClocks) {
      if (libfaketimePath() === undefined)
        throw new Error('node clocks need libfaketime (apt-get install faketime)');
      const id = `n${c.node}`;
      clocks.set(id, new FakeClock(join(runDir, `faketime-${id}`), c, true));
    }
    const disks = new Map<string, SmallDisk>();
    const cluster = new ChaosCluster(topology, ids, {
      runDir,
      electionTimeoutMs: scenario.electionTimeoutMs,
      build:
        scenario.broken === undefined || scenario.broken === 'store-skips-fence' ? 'real' : scenario.broken,
      clocks,
      disks,
      cleanup,
    });
    if (kinds.has('disk-full') || kinds.has('disk-readonly')) {
      for (const id of ids) disks.set(id, new SmallDisk(cluster.dataDir(id), SMALL_DISK_BYTES, cleanup));
    }
    const nft =
      topology.network === undefined
        ? undefined
        : new NftPartitions(topology.network.runId, (id) => topology.network!.host(id), cleanup);
    // The proxies, the nodes and the store boot side by side (each a Node.js process that compiles
    // its sources first): a node dialling a proxy that does not listen yet retries, as after a
    // crash, and nothing is counted before the workers start.
    const proxiesReady = topology.startProxies(seed);
    // Awaited below; settled at once so that a failure before then is not an unhandled rejection.
    proxiesReady.catch(() => undefined);
    for (const id of ids) cluster.start(id);

    const store = new ManagedProcess(
      {
        name: 'store-1',
        argv: [
          ...topology.execPrefix(CLIENT_HOST),
          ...swcArgs(entries.store),
          '--out',
          join(runDir, 'store-1.jsonl'),
          '--port',
          '0',
          ...(scenario.broken === 'store-skips-fence' ? ['--broken', 'skip-fence'] : []),
        ],
        env: SWC_ENV,
        logFile: join(runDir, 'logs', 'store-1.log'),
        pipeStdout: true,
      },
      cleanup,
    );
    store.start();
    const storeListening = store.waitForLine((l) => l.includes('"listening"'), 30_000);
    storeListening.catch(() => undefined);
    await proxiesReady;
    say('link proxies ready');
    say(`leader ${await cluster.waitForLeader()}`);
    if (scenario.leader !== undefined) {
      const wanted = `n${scenario.leader}`;
      await cluster.transferLeadership(wanted);
      say(`leader ${wanted} (as the scenario asks)`);
    }
    const storePort = (JSON.parse(await storeListening) as { listening: number }).listening;
    const scopes = Array.from({ length: scenario.workload.scopes }, (_, i) => `chaos-s${i + 1}`);
    const endpoints = ids
      .map((id) => `${topology.node(id).grpc.host}:${topology.node(id).grpc.port}`)
      .join(',');
    const workers = new Map<string, ManagedProcess>();
    // A worker's own clock fakes its monotonic clock too (the SDK's lease timing), so its history
    // times come from the kernel (KernelClock), comparable with everyone else's.
    const workerClocks = new Map<string, FakeClock>();
    for (const c of scenario.workload.clocks) {
      if (libfaketimePath() === undefined)
        throw new Error('worker clocks need libfaketime (apt-get install faketime)');
      if (!kernelClockReadable()) {
        throw new Error(`worker clocks need ${TIMER_LIST} (root): their history times come from the kernel`);
      }
      const id = `w${c.worker}`;
      workerClocks.set(id, new FakeClock(join(runDir, `faketime-${id}`), c, true));
    }
    const stopAt = new Map<string, number>();
    for (const f of schedule.filter((x) => x.kind === 'stop-before-write')) {
      const target = stopBeforeWriteWorker(f, scenario.workload.workers);
      if (!stopAt.has(target)) stopAt.set(target, f.atMs);
    }
    for (let i = 1; i <= scenario.workload.workers; i++) {
      const id = `w${i}`;
      const w = new ManagedProcess(
        {
          name: id,
          argv: [
            ...topology.execPrefix(CLIENT_HOST),
            ...swcArgs(entries.worker),
            '--id',
            id,
            '--endpoints',
            endpoints,
            '--scopes',
            scopes.join(','),
            '--store',
            `http://127.0.0.1:${storePort}`,
            '--out',
            runDir,
            '--seed',
            String((seed + i) >>> 0),
            '--duration-ms',
            String(durationMs),
            '--ttl-ms',
            String(scenario.workload.ttlMs),
            ...(stopAt.has(id) ? ['--stop-before-write-at-ms', String(stopAt.get(id))] : []),
            ...(workerClocks.has(id) ? ['--history-clock', 'kernel'] : []),
          ],
          env: { ...SWC_ENV, ...(workerClocks.get(id)?.env() ?? {}) },
          logFile: join(runDir, 'logs', `${id}.log`),
          pipeStdout: true,
        },
        cleanup,
      );
      workers.set(id, w);
      w.start();
    }
    await Promise.all(
      [...workers.values()].map((w) => w.waitForLine((l) => l.includes('"ready":true'), 60_000)),
    );
    say(`${workers.size} workers ready on ${scopes.length} scopes (store on port ${storePort})`);
    for (const c of scenario.nodeClocks) {
      timeline.fault('node-clock', `n${c.node}`);
      say(`n${c.node} runs on its own clock: ${c.offsetMs} ms off, x${c.rate}`);
    }
    for (const [id, clock] of workerClocks) {
      const { offsetMs, rate } = clock.current();
      timeline.fault('client-clock', id);
      say(`${id} runs on its own clock: ${offsetMs} ms off, x${rate}`);
    }

    const t0 = performance.now();
    const ctx: FaultContext = {
      cluster,
      workers,
      workerCount: scenario.workload.workers,
      timeline,
      nft,
      clocks,
      workerClocks,
      disks,
      joiners: [...joiners],
      progress: say,
      runDir,
      cleanup,
    };
    const heals: Array<Promise<void>> = [];
    const pendingHeals = new Set<() => Promise<void>>();
    const runHeal = async (heal: () => Promise<void>): Promise<void> => {
      if (!pendingHeals.delete(heal)) return;
      try {
        await heal();
      } catch (e) {
        errors.push(`heal: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    for (const f of schedule) {
      await sleep(t0 + f.atMs - performance.now());
      let heal: Heal;
      try {
        heal = await applyFault(f, ctx);
      } catch (e) {
        const message = `${f.kind} at ${f.atMs} ms: ${e instanceof Error ? e.message : String(e)}`;
        errors.push(message);
        say(`fault failed: ${message}`);
        continue;
      }
      if (heal !== undefined) {
        const h = heal;
        pendingHeals.add(h);
        heals.push(sleep(f.durationMs).then(() => runHeal(h)));
      }
    }
    await sleep(t0 + durationMs - performance.now());
    // Faults still open at the end are healed now, so the audit can be read and recovery measured.
    for (const h of [...pendingHeals]) await runHeal(h);
    await Promise.all(heals);
    say('workload done; waiting for the workers to finish');
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...workers.values()].map((w) => w.exited())),
      new Promise((r) => (graceTimer = setTimeout(r, WORKER_EXIT_GRACE_MS))),
    ]);
    clearTimeout(graceTimer);
    await Promise.all([...workers.values()].map((w) => w.stop()));
    await store.stop();
    const events = await readAudit(cluster, join(runDir, 'audit.jsonl'));
    say(`audit: ${events} committed holder changes`);
    // Nothing the nodes and proxies do from here on is checked: they are killed side by side
    // rather than stopped one after the other by the cleanup registry, each with the planned
    // stop's leadership hand-off and gRPC shutdown grace while its peers are stopping too.
    await Promise.all([cluster.killAll(), topology.killProxies()]);
    writeFileSync(join(runDir, 'slo.json'), `${JSON.stringify(scenario.slo)}\n`);
  } catch (e) {
    errors.push(e instanceof Error ? e.message : String(e));
    say(`run failed: ${errors[errors.length - 1] ?? ''}`);
  } finally {
    const failures = await cleanup.runAll();
    errors.push(...failures.map((f) => `cleanup: ${f}`));
    say('every process stopped, namespaces, rules and mounts removed');
  }
  try {
    verdict = checkRun(readRunFolder(runDir));
  } catch (e) {
    verdict = { verdict: 'unknown', error: e instanceof Error ? e.message : String(e) };
  }
  say('checkers done');
  const expected = scenario.expect;
  const report: RunReport = {
    scenario: scenario.name,
    seed,
    mode,
    broken: scenario.broken ?? null,
    expected,
    passed: verdict.verdict === expected && (expected === 'invalid' || errors.length === 0),
    durationMs: Math.round(performance.now() - started),
    runDir,
    replay: replayCommand(scenario.name, seed, options.durationS, options.scenariosFile),
    timeline: timeline.records,
    files: readdirSync(runDir)
      .filter((f) => f.endsWith('.jsonl') || f === 'slo.json')
      .sort(),
    verdict,
    errors,
  };
  writeFileSync(join(runDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(runDir, 'junit.xml'), junitXml([report]));
  say(`verdict ${verdict.verdict} (expected ${expected}): ${report.passed ? 'PASS' : 'FAIL'}`);
  return report;
}
