/**
 * tls-ab: an A/B figure of what TLS costs OmniRelay, for issue 16. It measures, alternately in one
 * invocation, one or more builds of the server (a repository root each, built with `tsc --build`)
 * with TLS off and on. Per cluster: a 5 s warm-up of acquire → resign cycles at concurrency 16 (as
 * the compare bench's), the idle nodes' CPU for 3 s, sequential acquires (latency at concurrency 1,
 * and the nodes' CPU time per acquire from /proc beyond their idle rate), cycles per second at
 * concurrency 128, and crash failover (SIGKILL the leader, then one write every 5 ms to each
 * survivor until one is acknowledged). Rounds interleave every (build, security) pair, so load on a
 * shared machine falls on all of them alike; the tables give the median of the per-round figures,
 * and each build's TLS-on / TLS-off ratio per round (the two ran back to back) and its median.
 *
 *   npm run build && node -r @swc-node/register bench/compare/tls-ab.ts \
 *     [--builds before=/path/to/other/root,after=.] [--security off,tls] [--rounds 3] \
 *     [--acquires 100] [--cycles-ms 5000] [--crashes 3] [--log-level warn] [--keep-logs DIR] \
 *     [--node-arg=--cpu-prof --node-arg=--cpu-prof-dir=DIR]
 *
 * Each cluster is fresh: 3 nodes on 127.0.0.1 started by that build's LocalCluster (so its own
 * dist/), TLS as in the compare bench (peer mTLS and client TLS with required client certificates,
 * minted once by mintBenchPki). Every node process is started and stopped by PID (LocalCluster).
 */
import { cpSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient } from '@omnirelay/client-sdk';
import type { LocalCluster } from '@omnirelay/server';
import { nodeArgOf } from '../support/options';
import { percentile, progress } from '../support/stats';
import type { BenchPki } from './bench-pki';
import { BENCH_CLUSTER_ID, mintBenchPki } from './bench-pki';
import { installExitHandler, makeScratchDir, trackPids } from './children';
import { sleep, withDeadline } from './time';
import { readTls } from './tls-files';

type Client = ReturnType<typeof createClient>;
type LocalClusterClass = typeof LocalCluster;

/** median ignores NaN (a figure a round could not take, e.g. failovers that all failed). */
const median = (values: readonly number[]): number =>
  percentile(
    values.filter((v) => !Number.isNaN(v)),
    50,
  );

/** Row is one (build, security) pair's per-round figures. */
interface Row {
  readonly acquireP50: number[];
  readonly cpuMsPerAcquire: number[];
  readonly cyclesPerS: number[];
  readonly failoverP50: number[];
  failures: number;
}

/** MEMBERS are the node ids of every cluster. */
const MEMBERS = ['n1', 'n2', 'n3'] as const;
/** CALL_MS_MAX is every acquire's deadline. */
const CALL_MS_MAX = 5000;
/** PROBE_INTERVAL_MS and PROBE_DEADLINE_MS are the crash probe's pace and each write's deadline. */
const PROBE_INTERVAL_MS = 5;
const PROBE_DEADLINE_MS = 3000;
/** FAILOVER_MS_MAX bounds one crash repetition's wait for an acknowledged write. */
const FAILOVER_MS_MAX = 15_000;
/** CATCH_UP_MS_MAX bounds the restart and catch-up of the killed member. */
const CATCH_UP_MS_MAX = 60_000;
/** SETTLE_MS is the pause after a restart before the next repetition. */
const SETTLE_MS = 2000;
/** IDLE_MS is how long the idle cluster's CPU use is measured before the acquires. */
const IDLE_MS = 3000;
/** WARM_UP_CONCURRENCY and WARM_UP_MS: acquire/release cycles before anything is measured, as the compare bench's warm-up. */
const WARM_UP_CONCURRENCY = 16;
const WARM_UP_MS = 5000;
/** LOAD_CONCURRENCY is the concurrency of the throughput figure (the compare bench's highest). */
const LOAD_CONCURRENCY = 128;
/** CYCLES_PER_LOOP_MAX bounds each concurrent loop of runCycles. */
const CYCLES_PER_LOOP_MAX = 100_000;
/** WARM_UP_ACQUIRES are unmeasured acquires after start. */
const WARM_UP_ACQUIRES = 20;

interface Options {
  readonly builds: ReadonlyArray<{ readonly label: string; readonly root: string }>;
  readonly security: ReadonlyArray<'off' | 'tls'>;
  readonly rounds: number;
  readonly acquires: number;
  readonly crashes: number;
  /** cyclesMs is the window of the concurrency-128 throughput figure (0: none). */
  readonly cyclesMs: number;
  readonly nodeArgs: readonly string[];
  /** logLevel is the nodes' log level; keepLogs, when set, is where each cluster's logs are copied. */
  readonly logLevel: string;
  readonly keepLogs: string | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
  };
  const count = (name: string, fallback: number, max: number): number => {
    const raw = value(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${name} must be an integer 0..${max}`);
    return n;
  };
  const builds = (value('builds') ?? 'this=.').split(',').map((b) => {
    const at = b.indexOf('=');
    if (at <= 0) throw new Error(`--builds takes label=root pairs, got ${b}`);
    return { label: b.slice(0, at), root: resolve(b.slice(at + 1)) };
  });
  const security = (value('security') ?? 'off,tls').split(',').map((s) => {
    if (s !== 'off' && s !== 'tls') throw new Error(`--security takes off and tls, got ${s}`);
    return s;
  });
  return {
    builds,
    security,
    rounds: count('rounds', 3, 50),
    acquires: count('acquires', 100, 10_000),
    crashes: count('crashes', 3, 50),
    cyclesMs: count('cycles-ms', 5000, 60_000),
    logLevel: value('log-level') ?? 'warn',
    keepLogs: value('keep-logs'),
    nodeArgs: argv.flatMap((a) => nodeArgOf(a, (reason) => new Error(reason)) ?? []),
  };
}

/** loadLocalCluster loads LocalCluster from `root`'s built server, so its nodes run that build. */
function loadLocalCluster(root: string): LocalClusterClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const server = require(join(root, 'packages/server/dist/index.js')) as { LocalCluster: LocalClusterClass };
  return server.LocalCluster;
}

/** Figures are one cluster's measurements. */
interface Figures {
  readonly acquireMs: number[];
  /** nodeCpuMsPerAcquire is the CPU time (user + system) of all nodes over the measured acquires, per acquire. */
  nodeCpuMsPerAcquire: number;
  /** cyclesPerS is the acquire → resign cycles per second at LOAD_CONCURRENCY. */
  cyclesPerS: number;
  /** idleCpuMsPerS is the nodes' CPU time per second while nothing is asked of them. */
  idleCpuMsPerS: number;
  readonly failoverMs: number[];
  failures: number;
}

async function measure(
  LocalClusterOf: LocalClusterClass,
  pki: BenchPki | undefined,
  options: Options,
  tag: string,
): Promise<Figures> {
  const scratch = makeScratchDir('tls-ab-');
  const dataRoot = scratch.path;
  const tls = pki === undefined ? {} : { tls: readTls(pki.client) };
  const cluster = await LocalClusterOf.create({
    size: MEMBERS.length,
    dataRoot,
    basePort: 0,
    logLevel: options.logLevel,
    nodeArgs: options.nodeArgs,
    ...(pki === undefined
      ? {}
      : {
          nodeTls: { clusterId: BENCH_CLUSTER_ID, caFile: pki.caFile, files: (id: string) => pki.node(id) },
          clientTls: pki.client,
        }),
  });
  const untrack = trackPids(() =>
    cluster.nodes.flatMap((n) => (n.process?.pid !== undefined ? [n.process.pid] : [])),
  );
  const clients: Client[] = [];
  const figures: Figures = {
    acquireMs: [],
    nodeCpuMsPerAcquire: Number.NaN,
    idleCpuMsPerS: Number.NaN,
    cyclesPerS: Number.NaN,
    failoverMs: [],
    failures: 0,
  };
  try {
    cluster.startAll();
    await cluster.waitForLeader(30_000);
    const main = createClient({
      endpoints: cluster.nodes.map((n) => n.grpcAddress),
      callTimeoutMs: CALL_MS_MAX,
      candidateId: 'tls-ab',
      ...tls,
    });
    clients.push(main);
    await cycles(main, `${tag}/warm`, WARM_UP_CONCURRENCY, WARM_UP_MS);
    const idleFromMs = nodesCpuMs(cluster);
    await sleep(IDLE_MS);
    figures.idleCpuMsPerS = ((nodesCpuMs(cluster) - idleFromMs) * 1000) / IDLE_MS;
    let cpuAtStartMs = 0;
    let loopStartedMs = 0;
    for (let i = 0; i < WARM_UP_ACQUIRES + options.acquires; i++) {
      if (i === WARM_UP_ACQUIRES) {
        cpuAtStartMs = nodesCpuMs(cluster);
        loopStartedMs = performance.now();
      }
      const started = performance.now();
      const lease = await main.acquire(`${tag}/a/${i}`, { ttlMs: 60_000 });
      const ms = performance.now() - started;
      if (lease === null) throw new Error(`scope ${tag}/a/${i} is already held`);
      await lease.resign();
      if (i >= WARM_UP_ACQUIRES) figures.acquireMs.push(ms);
    }
    // What the nodes spend anyway (heartbeats, timers) over the loop's duration is not the acquires'.
    const loopCpuMs = nodesCpuMs(cluster) - cpuAtStartMs;
    const backgroundMs = (figures.idleCpuMsPerS * (performance.now() - loopStartedMs)) / 1000;
    figures.nodeCpuMsPerAcquire = (loopCpuMs - backgroundMs) / Math.max(1, options.acquires);
    if (options.cyclesMs > 0) {
      const done = await cycles(main, `${tag}/load`, LOAD_CONCURRENCY, options.cyclesMs);
      figures.cyclesPerS = (done * 1000) / options.cyclesMs;
    }
    for (let rep = 0; rep < options.crashes; rep++) {
      const leader = await cluster.waitForLeader(30_000);
      const survivors = MEMBERS.filter((m) => m !== leader);
      const probes = survivors.map((m) => {
        const c = createClient({
          endpoints: [cluster.node(m).grpcAddress],
          callTimeoutMs: PROBE_DEADLINE_MS,
          candidateId: `tls-ab-${m}`,
          ...tls,
        });
        clients.push(c);
        return c;
      });
      // The probe clients connect before the kill, as the compare bench's member clients do.
      await Promise.all(probes.map((c, i) => c.acquire(`${tag}/warm/${rep}/${i}`, { ttlMs: 60_000 })));
      const killedAt = performance.now();
      await cluster.kill(leader, 'SIGKILL');
      const ackMs = await firstAckMs(probes, `${tag}/crash/${rep}`, killedAt);
      if (ackMs === undefined) figures.failures++;
      else figures.failoverMs.push(ackMs);
      progress(`${tag} crash ${rep + 1}: killed ${leader}, first write after ${ackMs?.toFixed(1) ?? '—'} ms`);
      for (const c of probes) c.close();
      cluster.start(leader);
      await caughtUp(cluster, leader);
      await sleep(SETTLE_MS);
    }
  } finally {
    for (const c of clients) c.close();
    await cluster.stopAll();
    untrack();
    if (options.keepLogs !== undefined)
      cpSync(join(dataRoot, 'logs'), join(options.keepLogs, tag), { recursive: true });
    scratch.remove();
  }
  return figures;
}

/** cycles runs acquire → resign cycles on distinct scopes, `concurrency` at a time, for `windowMs`; it returns how many ended in it. */
async function cycles(
  client: Client,
  prefix: string,
  concurrency: number,
  windowMs: number,
): Promise<number> {
  const endAt = performance.now() + windowMs;
  let done = 0;
  let seq = 0;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < CYCLES_PER_LOOP_MAX && performance.now() < endAt; i++) {
      const lease = await client.acquire(`${prefix}/${seq++}`, { ttlMs: 60_000 });
      if (lease === null) throw new Error(`scope ${prefix}/${seq - 1} is already held`);
      await lease.resign();
      if (performance.now() <= endAt) done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => loop()));
  return done;
}

/** CLOCK_TICKS_PER_S is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_S = 100;

/** nodesCpuMs is the CPU time (user + system) the cluster's node processes used so far, from /proc. */
function nodesCpuMs(cluster: LocalCluster): number {
  let ticks = 0;
  for (const n of cluster.nodes) {
    const pid = n.process?.pid;
    if (pid === undefined) continue;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

/** firstAckMs writes through every probe every PROBE_INTERVAL_MS; the ms from `fromMs` to the first acknowledgement. */
async function firstAckMs(
  probes: readonly Client[],
  prefix: string,
  fromMs: number,
): Promise<number | undefined> {
  let ackAt: number | undefined;
  const inflight: Array<Promise<void>> = [];
  const roundsMax = Math.ceil(FAILOVER_MS_MAX / PROBE_INTERVAL_MS);
  for (let round = 0; round < roundsMax && ackAt === undefined; round++) {
    probes.forEach((c, i) => {
      inflight.push(
        withDeadline(
          c.acquire(`${prefix}/${round}/${i}`, { ttlMs: 60_000 }),
          PROBE_DEADLINE_MS,
          'probe',
        ).then(
          () => {
            ackAt ??= performance.now();
          },
          () => undefined,
        ),
      );
    });
    await sleep(PROBE_INTERVAL_MS);
  }
  await Promise.all(inflight);
  return ackAt === undefined ? undefined : ackAt - fromMs;
}

/** caughtUp waits until `member` has applied the leader's commit index. */
async function caughtUp(cluster: LocalCluster, member: string): Promise<void> {
  const deadline = Date.now() + CATCH_UP_MS_MAX;
  while (Date.now() < deadline) {
    const leader = await cluster.leader();
    if (leader !== undefined) {
      const [l, s] = await Promise.all([cluster.status(leader), cluster.status(member)]);
      if (l !== undefined && s !== undefined && s.applied >= l.commit) return;
    }
    await sleep(50);
  }
  throw new Error(`${member} did not catch up within ${CATCH_UP_MS_MAX} ms`);
}

function format(ms: number | undefined): string {
  return ms === undefined || Number.isNaN(ms) ? '—' : ms.toFixed(1);
}

async function main(): Promise<void> {
  installExitHandler();
  const options = parseOptions(process.argv.slice(2));
  const pki = options.security.includes('tls') ? await mintBenchPki(MEMBERS) : undefined;
  const builds = options.builds.map((b) => ({ ...b, LocalCluster: loadLocalCluster(b.root) }));
  const results = new Map<string, Row>();
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const security of options.security) {
        for (const build of builds) {
          const key = `${build.label} ${security}`;
          const tag = `r${round}-${build.label}-${security}`;
          progress(`round ${round + 1}/${options.rounds}: ${key}`);
          const f = await measure(build.LocalCluster, security === 'tls' ? pki : undefined, options, tag);
          const r = results.get(key) ?? {
            acquireP50: [],
            cpuMsPerAcquire: [],
            cyclesPerS: [],
            failoverP50: [],
            failures: 0,
          };
          r.acquireP50.push(median(f.acquireMs));
          r.cpuMsPerAcquire.push(f.nodeCpuMsPerAcquire);
          r.cyclesPerS.push(f.cyclesPerS);
          r.failoverP50.push(median(f.failoverMs));
          r.failures += f.failures;
          results.set(key, r);
          progress(
            `${key}: acquire p50 ${format(median(f.acquireMs))} ms, node CPU ${format(f.nodeCpuMsPerAcquire)} ms per acquire (idle ${format(f.idleCpuMsPerS)} ms/s), failover median ${format(median(f.failoverMs))} ms`,
          );
        }
      }
    }
  } finally {
    pki?.remove();
  }
  const lines = [
    '| build | security | acquire p50 ms (c=1) | cycles/s (c=128) | node CPU ms per acquire | crash failover median ms | failover failures | per round: acquire p50 | cycles/s | failover |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [key, r] of results) {
    const [label, security] = key.split(' ');
    lines.push(
      `| ${label} | ${security} | ${format(median(r.acquireP50))} | ${format(median(r.cyclesPerS))} | ` +
        `${format(median(r.cpuMsPerAcquire))} | ${format(median(r.failoverP50))} | ${r.failures} | ` +
        `${r.acquireP50.map(format).join(' ')} | ${r.cyclesPerS.map(format).join(' ')} | ${r.failoverP50.map(format).join(' ')} |`,
    );
  }
  // TLS-on / TLS-off per round (the two ran back to back), then the median over rounds.
  const ratio = (
    label: string,
    pick: (r: typeof results extends Map<string, infer V> ? V : never) => number[],
  ): string => {
    const on = results.get(`${label} tls`);
    const off = results.get(`${label} off`);
    if (on === undefined || off === undefined) return '—';
    const perRound = pick(on).map((v, i) => v / (pick(off)[i] ?? Number.NaN));
    return `${median(perRound).toFixed(2)} (${perRound.map((v) => v.toFixed(2)).join(' ')})`;
  };
  lines.push(
    '',
    '| build | TLS / off: acquire p50 (c=1) | cycles/s (c=128) | crash failover |',
    '|---|---|---|---|',
  );
  for (const { label } of options.builds) {
    lines.push(
      `| ${label} | ${ratio(label, (r) => r.acquireP50)} | ${ratio(label, (r) => r.cyclesPerS)} | ${ratio(label, (r) => r.failoverP50)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
