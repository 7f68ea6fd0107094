/**
 * `npm run bench -- edge`: the client ↔ leader edge of one write (issue 20, the hops between the
 * SDK and the leader's leadership service). In one invocation it measures:
 * - the raw grpc-js floor: a unary call with a 100-byte Buffer (no proto, no interceptors) from
 *   this process to a server process of its own on 127.0.0.1;
 * - the pieces, in this process: proto-loader's encode and decode of an Acquire request and
 *   response (what the SDK and the server each do once per call);
 * - for each build (`--build <repository root>`, repeatable; default this checkout), a fresh
 *   3-member cluster with the hop ledger on; `--calls` serializable GetLeader reads of the leader,
 *   alternating a bare grpc-js client and the SDK; `--calls` acquire → resign cycles at c=1 (a
 *   pause of `--gap-ms`, default 20 as in the hops bench, before each call) through
 *   the SDK client of that build: acquire and resign p50, and the ledger rows client send →
 *   leader receive, answer sent → client receive; then as many cycles through a client that
 *   knows only a follower (each call forwarded to the leader). With several builds it runs
 *   them `--rounds` times, alternating, so a change of machine load falls on each alike.
 * With `--cpu-prof <dir>` every node of the last round writes a V8 CPU profile there and this
 * process profiles its own measured loop; the summary (self time by function and file) is printed.
 * Figures go to bench/results/edge.json.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type * as ServerPackage from '@omnirelay/server';
import type * as SdkPackage from '@omnirelay/client-sdk';
import { installExitHandler, makeScratchDir, stopChild, trackPids } from '../compare/children';
import { sharedNowMs, sleep } from '../compare/time';
import { Ledger, WRITE_STEPS, drainHopLedgers, stepDurations, writePath } from '../hops/ledger-paths';
import { ECHO_SERVICE, round3, startEchoPeer } from '../hops/floors';
import { runBenchMain } from '../support/bench-main';
import { intOption, pathOption } from '../support/options';
import { percentile, progress } from '../support/stats';
import type { CpuProfile, ProfileSummary } from './profile-summary';
import { summarizeProfile } from './profile-summary';

/**
 * loadBuilt loads a module of a build by path: the builds compared (`--build`) are other checkouts,
 * so their packages cannot be imported by name.
 */
const loadBuilt = createRequire(__filename);

/** LEASE_TTL_MS is the TTL of every measured lease. */
const LEASE_TTL_MS = 60_000;
/** CALL_MS_MAX is the SDK's per-call deadline. */
const CALL_MS_MAX = 5000;
/** WARM_CALLS are the unmeasured cycles before each measured loop (leader learned, connections warm, JIT). */
const WARM_CALLS = 30;
/** RAW_PAYLOAD_BYTES is the raw floor's payload, about an Acquire request's size. */
const RAW_PAYLOAD_BYTES = 100;
/** PIECE_ROUNDS is how many times each piece is timed. */
const PIECE_ROUNDS = 20_000;
/** PROFILE_TOP is how many functions and files each profile summary lists. */
const PROFILE_TOP = 25;

interface Options {
  readonly calls: number;
  /**
   * gapMs is the pause before each measured acquire and resign (default 20, as the hops bench's),
   * so each call finds the cluster idle of the one before; 0 sends them back to back.
   */
  readonly gapMs: number;
  readonly rounds: number;
  readonly builds: readonly string[];
  readonly cpuProfDir: string | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const int = (flag: string, fallback: number, min: number, max: number): number =>
    intOption(argv, flag, fallback, min, max);
  const builds = argv.flatMap((a, i) =>
    a === '--build' && argv[i + 1] !== undefined ? [resolve(argv[i + 1]!)] : [],
  );
  return {
    calls: int('--calls', 200, 1, 100_000),
    gapMs: int('--gap-ms', 20, 0, 1000),
    rounds: int('--rounds', builds.length > 1 ? 2 : 1, 1, 20),
    builds: builds.length > 0 ? builds : [resolve(__dirname, '../..')],
    cpuProfDir: pathOption(argv, '--cpu-prof'),
  };
}

/** Figure is a sample's median and p90, in ms. */
interface Figure {
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly samples: number;
}

function figure(values: readonly number[]): Figure {
  return {
    p50Ms: values.length === 0 ? null : round3(percentile(values, 50)),
    p90Ms: values.length === 0 ? null : round3(percentile(values, 90)),
    samples: values.length,
  };
}

/**
 * rawFloor times `calls` raw grpc-js unary calls with a 100-byte Buffer to a server process of its
 * own (the hop ledger's floor peer, bench/hops/floor-peer.ts: no proto, no interceptors).
 */
async function rawFloor(calls: number): Promise<Figure> {
  const { child, grpcPort } = await startEchoPeer();
  const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  try {
    const payload = Buffer.alloc(RAW_PAYLOAD_BYTES, 1);
    const identity = (b: Buffer): Buffer => b;
    const once = (): Promise<void> =>
      new Promise((done, fail) => {
        client.makeUnaryRequest(
          ECHO_SERVICE['Unary']!.path,
          identity,
          identity,
          payload,
          new grpc.Metadata(),
          { deadline: Date.now() + CALL_MS_MAX },
          (e) => (e === null ? done() : fail(e)),
        );
      });
    for (let i = 0; i < WARM_CALLS; i++) await once();
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) {
      const started = performance.now();
      await once();
      samples.push(performance.now() - started);
    }
    return figure(samples);
  } finally {
    client.close();
    await stopChild(child, 'SIGKILL');
  }
}

/** Pieces are the per-call encode and decode costs of an Acquire, in µs (median of PIECE_ROUNDS). */
type Pieces = Record<string, number>;

/** pieces times proto-loader's four conversions of one Acquire, through `sdk`'s loaded definitions. */
function pieces(root: string): Pieces {
  // The SDK's own loaded proto (the server loads the same file with the same options).
  const { loadServiceClients } = loadBuilt(join(root, 'packages/client-sdk/dist/proto.js')) as {
    loadServiceClients: () => { Leadership: grpc.ServiceClientConstructor };
  };
  const acquire = loadServiceClients().Leadership.service['Acquire']!;
  const request = {
    scope: 'edge/pieces',
    candidateId: 'edge',
    sessionId: 'session-1',
    metadata: '',
    leaseTtlMs: 60_000,
    correlationId: 'edge-1',
  };
  const requestBytes = acquire.requestSerialize(request);
  const response = {
    granted: true,
    alreadyHolder: false,
    raftTerm: '3',
    lease: {
      scope: 'edge/pieces',
      candidateId: 'edge',
      sessionId: 'session-1',
      metadata: '',
      scopeTerm: '1',
      fenceToken: '123456',
      leaseTtlMs: 60_000,
      deadlineMs: String(Date.now() + 60_000),
      lastRenewalStampMs: String(Date.now()),
      grantedStampMs: String(Date.now()),
      revision: '123456',
    },
  };
  const responseBytes = (acquire.responseSerialize as (v: unknown) => Buffer)(response);
  const time = (fn: () => unknown): number => {
    const samples: number[] = [];
    for (let i = 0; i < PIECE_ROUNDS; i++) {
      const started = performance.now();
      fn();
      samples.push(performance.now() - started);
    }
    return Math.round(percentile(samples, 50) * 1e4) / 10;
  };
  return {
    'request encode (SDK)': time(() => acquire.requestSerialize(request)),
    'request decode (server)': time(() => acquire.requestDeserialize(requestBytes)),
    'response encode (server)': time(() => (acquire.responseSerialize as (v: unknown) => Buffer)(response)),
    'response decode (SDK)': time(() => acquire.responseDeserialize(responseBytes)),
    'new Metadata': time(() => new grpc.Metadata()),
  };
}

/** BuildRun is one build's figures in one round. */
interface BuildRun {
  readonly build: string;
  readonly round: number;
  readonly loadAverage: readonly number[];
  readonly acquire: Figure;
  readonly resign: Figure;
  /** viaFollower is an acquire → resign cycle through a client that knows only a follower (forwarded to the leader). */
  readonly viaFollower: Figure;
  readonly leaderReceive: Figure;
  readonly leaderSide: Figure;
  readonly clientReceive: Figure;
  /** rawRead is a serializable GetLeader on the leader from a bare grpc-js client (our server, no SDK). */
  readonly rawRead: Figure;
  /** sdkRead is the same read through the SDK (our SDK and our server), alternating with rawRead. */
  readonly sdkRead: Figure;
  readonly ledgerRecordsDropped: number;
  readonly clientProfile?: ProfileSummary;
  readonly nodeProfiles?: ReadonlyArray<{ readonly file: string; readonly summary: ProfileSummary }>;
}

/** runBuild starts a fresh cluster of `root`'s build and makes `calls` acquire → resign cycles at c=1 through its SDK. */
async function runBuild(root: string, round: number, options: Options, profile: boolean): Promise<BuildRun> {
  const { LocalCluster } = loadBuilt(join(root, 'packages/server/dist/index.js')) as typeof ServerPackage;
  const { createClient } = loadBuilt(join(root, 'packages/client-sdk/dist/index.js')) as typeof SdkPackage;
  const scratch = makeScratchDir('edge-bench-');
  const dataRoot = scratch.path;
  const nodeProfDir =
    profile && options.cpuProfDir !== undefined
      ? join(options.cpuProfDir, `${basename(root)}-nodes`)
      : undefined;
  if (nodeProfDir !== undefined) mkdirSync(nodeProfDir, { recursive: true });
  const cluster = await LocalCluster.create({
    size: 3,
    dataRoot,
    basePort: 0,
    logLevel: 'warn',
    nodeEnv: () => ({ OMNIRELAY_HOP_LEDGER: 'true' }),
    ...(nodeProfDir === undefined ? {} : { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', nodeProfDir] }),
  });
  const untrack = trackPids(() =>
    cluster.nodes.flatMap((n) => (n.process?.pid !== undefined ? [n.process.pid] : [])),
  );
  let client: ReturnType<typeof createClient> | undefined;
  try {
    cluster.startAll();
    await cluster.waitForLeader(30_000);
    client = createClient({
      endpoints: cluster.nodes.map((n) => n.grpcAddress),
      callTimeoutMs: CALL_MS_MAX,
      candidateId: 'edge',
    });
    for (let i = 0; i < WARM_CALLS; i++)
      await (await client.acquire(`warm/${i}`, { ttlMs: LEASE_TTL_MS }))?.resign();
    const drain = (ledger: Ledger): Promise<number> =>
      drainHopLedgers(
        cluster.nodes.map((n) => n.id),
        (member, path) => cluster.get(member, path, 10_000),
        ledger,
      );
    const leaderId = await cluster.waitForLeader(30_000);
    const reads = await readEdge(root, cluster.node(leaderId).grpcAddress, client, options.calls);
    await drain(new Ledger());
    const session = profile && options.cpuProfDir !== undefined ? new Session() : undefined;
    if (session !== undefined) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const sends: Array<{ tag: string; sentAt: number; receivedAt: number }> = [];
    const acquireMs: number[] = [];
    const resignMs: number[] = [];
    for (let i = 0; i < options.calls; i++) {
      const tag = `edge-${round}-${i}`;
      const sentAt = sharedNowMs();
      const lease = await client.acquire(`edge/${round}/${i}`, { ttlMs: LEASE_TTL_MS, correlationId: tag });
      const receivedAt = sharedNowMs();
      if (lease === null) throw new Error(`edge/${round}/${i} was not granted`);
      sends.push({ tag, sentAt, receivedAt });
      acquireMs.push(receivedAt - sentAt);
      await sleep(options.gapMs);
      const resignAt = performance.now();
      await lease.resign();
      resignMs.push(performance.now() - resignAt);
      await sleep(options.gapMs);
    }
    let clientProfile: ProfileSummary | undefined;
    if (session !== undefined) {
      const { profile: p } = await session.post('Profiler.stop');
      session.disconnect();
      writeFileSync(join(options.cpuProfDir!, `${basename(root)}-client.cpuprofile`), JSON.stringify(p));
      clientProfile = summarizeProfile(p as unknown as CpuProfile, PROFILE_TOP);
    }
    const viaFollower = await followerCycles(
      createClient,
      cluster.nodes.filter((n) => n.id !== leaderId).map((n) => n.grpcAddress)[0]!,
      round,
      options.calls,
      options.gapMs,
    );
    const ledger = new Ledger();
    const dropped = await drain(ledger);
    const paths = sends.map((s) => writePath(ledger, s.tag, s.sentAt, s.receivedAt));
    const durations = paths.map((p) => stepDurations(WRITE_STEPS, p));
    const pick = (step: (typeof WRITE_STEPS)[number]): number[] =>
      durations.flatMap((d) => (d[step] === undefined ? [] : [d[step]]));
    const leaderSide = paths.flatMap((p) =>
      p['leader receive'] !== undefined && p['answer sent'] !== undefined
        ? [p['answer sent'] - p['leader receive']]
        : [],
    );
    const run: BuildRun = {
      build: root,
      round,
      loadAverage: loadavg(),
      acquire: figure(acquireMs),
      resign: figure(resignMs),
      viaFollower,
      leaderReceive: figure(pick('leader receive')),
      leaderSide: figure(leaderSide),
      clientReceive: figure(pick('client receive')),
      rawRead: reads.raw,
      sdkRead: reads.sdk,
      ledgerRecordsDropped: dropped,
      ...(clientProfile === undefined ? {} : { clientProfile }),
    };
    client.close();
    client = undefined;
    await cluster.stopAll();
    if (nodeProfDir === undefined) return run;
    const nodeProfiles = readdirSync(nodeProfDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((file) => ({
        file,
        summary: summarizeProfile(
          JSON.parse(readFileSync(join(nodeProfDir, file), 'utf8')) as CpuProfile,
          PROFILE_TOP,
        ),
      }));
    return { ...run, nodeProfiles };
  } finally {
    client?.close();
    await cluster.stopAll();
    untrack();
    scratch.remove();
  }
}

/**
 * followerCycles times `calls` acquire → resign cycles at c=1 through a client that knows only the
 * follower at `address`, which forwards each call to the leader, each after a pause of `gapMs`.
 */
async function followerCycles(
  createClient: typeof SdkPackage.createClient,
  address: string,
  round: number,
  calls: number,
  gapMs: number,
): Promise<Figure> {
  const client = createClient({
    endpoints: [address],
    callTimeoutMs: CALL_MS_MAX,
    candidateId: 'edge-relay',
  });
  try {
    for (let i = 0; i < WARM_CALLS; i++)
      await (await client.acquire(`relay-warm/${round}/${i}`, { ttlMs: LEASE_TTL_MS }))?.resign();
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) {
      await sleep(gapMs);
      const started = performance.now();
      await (await client.acquire(`relay/${round}/${i}`, { ttlMs: LEASE_TTL_MS }))?.resign();
      samples.push(performance.now() - started);
    }
    return figure(samples);
  } finally {
    client.close();
  }
}

/**
 * readEdge times `calls` serializable GetLeader reads of the leader (no Raft round, no disk),
 * alternating one from a bare grpc-js client (proto-encoded, no metadata beyond grpc-js's own) and
 * one through the SDK, so the two differ only by the SDK's call path.
 */
async function readEdge(
  root: string,
  leaderAddress: string,
  client: ReturnType<typeof SdkPackage.createClient>,
  calls: number,
): Promise<{ raw: Figure; sdk: Figure }> {
  const { loadServiceClients } = loadBuilt(join(root, 'packages/client-sdk/dist/proto.js')) as {
    loadServiceClients: () => { Leadership: grpc.ServiceClientConstructor };
  };
  const method = loadServiceClients().Leadership.service['GetLeader']!;
  const bare = new grpc.Client(leaderAddress, grpc.credentials.createInsecure());
  const raw = (): Promise<void> =>
    new Promise((done, fail) => {
      bare.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { scope: 'edge/read', serializable: true },
        new grpc.Metadata(),
        { deadline: Date.now() + CALL_MS_MAX },
        (e) => (e === null ? done() : fail(e)),
      );
    });
  const sdk = async (): Promise<void> => {
    await client.getLeader('edge/read', { serializable: true });
  };
  for (let i = 0; i < WARM_CALLS; i++) {
    await raw();
    await sdk();
  }
  const rawMs: number[] = [];
  const sdkMs: number[] = [];
  for (let i = 0; i < calls; i++) {
    for (const [fn, samples] of i % 2 === 0
      ? ([
          [raw, rawMs],
          [sdk, sdkMs],
        ] as const)
      : ([
          [sdk, sdkMs],
          [raw, rawMs],
        ] as const)) {
      const started = performance.now();
      await fn();
      samples.push(performance.now() - started);
    }
  }
  bare.close();
  return { raw: figure(rawMs), sdk: figure(sdkMs) };
}

function profileText(title: string, s: ProfileSummary): string {
  const lines = [
    `#### ${title} (${s.totalMs.toFixed(0)} ms sampled)`,
    '',
    '| self ms | share | function |',
    '|---:|---:|---|',
  ];
  for (const f of s.functions)
    lines.push(`| ${f.ms.toFixed(1)} | ${(f.share * 100).toFixed(1)}% | ${f.name} |`);
  lines.push('', '| self ms | share | file |', '|---:|---:|---|');
  for (const f of s.files) lines.push(`| ${f.ms.toFixed(1)} | ${(f.share * 100).toFixed(1)}% | ${f.name} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  installExitHandler();
  const options = parseOptions(process.argv.slice(2));
  if (options.cpuProfDir !== undefined) mkdirSync(options.cpuProfDir, { recursive: true });
  progress(`raw grpc-js floor: ${options.calls} unary calls, ${RAW_PAYLOAD_BYTES}-byte Buffer`);
  const rawBefore = await rawFloor(options.calls);
  const piecesUs = pieces(options.builds[0]!);
  const runs: BuildRun[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const build of options.builds) {
      const profile = round === options.rounds - 1;
      progress(`round ${round + 1}/${options.rounds}: ${build}`);
      const run = await runBuild(build, round, options, profile);
      progress(
        `  acquire p50 ${run.acquire.p50Ms} ms, leader receive ${run.leaderReceive.p50Ms} ms, client receive ${run.clientReceive.p50Ms} ms`,
      );
      runs.push(run);
    }
  }
  const rawAfter = await rawFloor(options.calls);
  const result = {
    bench: 'edge',
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? '',
      node: process.version,
      loadAverage: loadavg(),
    },
    options,
    rawFloor: { before: rawBefore, after: rawAfter },
    piecesUs,
    runs,
  };
  mkdirSync(join(__dirname, '../results'), { recursive: true });
  const out = join(__dirname, '../results/edge.json');
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  const ms = (f: Figure): string =>
    f.p50Ms === null ? '—' : `${f.p50Ms.toFixed(3)} (${f.p90Ms!.toFixed(3)})`;
  const lines = [
    `Raw grpc-js unary RTT p50 (p90): ${ms(rawBefore)} ms before, ${ms(rawAfter)} ms after; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    '',
    `Pieces (µs, median of ${PIECE_ROUNDS}): ${Object.entries(piecesUs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    '| build | round | load | acquire p50 (p90) ms | client send → leader receive | leader receive → answer sent | answer sent → client receive | resign p50 (p90) ms | acquire → resign via a follower | GetLeader bare grpc-js | GetLeader SDK |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of runs) {
    lines.push(
      `| ${r.build} | ${r.round + 1} | ${r.loadAverage[0]!.toFixed(1)} | ${ms(r.acquire)} | ${ms(r.leaderReceive)} | ${ms(r.leaderSide)} | ${ms(r.clientReceive)} | ${ms(r.resign)} | ${ms(r.viaFollower)} | ${ms(r.rawRead)} | ${ms(r.sdkRead)} |`,
    );
  }
  for (const r of runs) {
    if (r.clientProfile !== undefined)
      lines.push('', profileText(`client profile, ${r.build}`, r.clientProfile));
    for (const p of r.nodeProfiles ?? [])
      lines.push('', profileText(`node profile ${p.file}, ${r.build}`, p.summary));
  }
  lines.push('', `written ${out}`, '');
  process.stdout.write(lines.join('\n'));
}

runBenchMain(main);
