/**
 * `npm run bench -- hops`: the hop ledger (issue 20, item 1). A fresh 3-member OmniRelay cluster
 * runs with the hop ledger on (OMNIRELAY_HOP_LEDGER=true); the bench times single writes
 * (acquires through the leader-routed SDK client, one at a time) and planned transfers, reads every
 * node's ledger (GET /debug/hops), and prints the median of each step next to its floor, measured
 * in the same invocation (floors.ts): a grpc-js unary call and a message on an open grpc-js stream
 * between two processes, a 4 KiB fdatasync and, with crashes, kill -9 → reset seen for a process as
 * large as the killed leaders. Twice: on an unloaded cluster and under a background load of
 * acquire → release cycles. Figures go to bench/results/hops.json.
 *
 * Options: --writes N (per phase, default 40), --transfers N (per phase, default 5),
 * --load-concurrency N (default 16), --crashes N (kill -9 of the leader N times on the unloaded
 * cluster after both phases, default 0; see crash-phase.ts), --raw (keep each transfer's and
 * crash's ledger records in the JSON). With --writes 0 --transfers 0 only the crashes run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@omnirelay/client-sdk';
import type { HopRecord } from '@omnirelay/raft';
import { installExitHandler, makeScratchDir } from '../compare/children';
import { firstAck } from '../compare/first-ack';
import { OmniRelayTarget } from '../compare/omnirelay-target';
import { sharedNowMs, sleep } from '../compare/time';
import { intOption, nodeArgsOption, pathOption } from '../support/options';
import { percentile, progress } from '../support/stats';
import type { CrashRun, ProbeOutcome } from './crash-phase';
import { ackedProbe, runCrashes, taggedProbe } from './crash-phase';
import type { Floors, KillFloor } from './floors';
import { measureFloors, measureKillFloor, round3 } from './floors';
import type { ProbeTrace, StepCpu, TransferPath, WritePath } from './ledger-paths';
import {
  CRASH_STEPS,
  LEADER_PERSIST,
  Ledger,
  TRANSFER_STEPS,
  WRITE_STEPS,
  drainHopLedgers,
  stepCpu,
  stepDurations,
  transferPath,
  writePath,
} from './ledger-paths';

type Client = ReturnType<typeof createClient>;

/** WRITE_GAP_MS is the pause between two measured writes (so each one finds the cluster idle of its own work). */
const WRITE_GAP_MS = 20;
/** TRANSFER_SETTLE_MS is the pause after a transfer before the next one. */
const TRANSFER_SETTLE_MS = 1000;
/** LEASE_TTL_MS is the TTL of the measured writes' and the load's leases. */
const LEASE_TTL_MS = 60_000;
/** CALL_MS_MAX is the SDK's per-call deadline. */
const CALL_MS_MAX = 5000;

interface Options {
  readonly writes: number;
  readonly transfers: number;
  readonly loadConcurrency: number;
  /** crashes is how many kill -9 failovers of the leader to trace (--crashes; 0: none). */
  readonly crashes: number;
  /** raw keeps every ledger record of each transfer in the JSON (--raw). */
  readonly raw: boolean;
  /** cpuProfDir receives a V8 CPU profile of every node when it stops (--cpu-prof DIR), to find what a slow step waited behind. */
  readonly cpuProfDir: string | undefined;
  /** cpuProfIntervalUs is the profiles' sampling interval in µs (--cpu-prof-interval-us; Node's default, 1,000, when unset). */
  readonly cpuProfIntervalUs: number | undefined;
  /** nodeArgs are Node.js or V8 flags added to every node (`--node-arg=FLAG`, repeatable). */
  readonly nodeArgs: readonly string[];
}

function parseOptions(argv: readonly string[]): Options {
  const int = (flag: string, fallback: number, min: number, max: number): number =>
    intOption(argv, flag, fallback, min, max);
  return {
    writes: int('--writes', 40, 0, 10_000),
    transfers: int('--transfers', 5, 0, 100),
    loadConcurrency: int('--load-concurrency', 16, 1, 1024),
    crashes: int('--crashes', 0, 0, 100),
    raw: argv.includes('--raw'),
    cpuProfDir: pathOption(argv, '--cpu-prof'),
    cpuProfIntervalUs: argv.includes('--cpu-prof-interval-us')
      ? int('--cpu-prof-interval-us', 1000, 50, 1_000_000)
      : undefined,
    nodeArgs: nodeArgsOption(argv),
  };
}

/** drainLedgers reads and empties the hop ledger of every member (or of `members`) into `ledger`. */
function drainLedgers(
  target: OmniRelayTarget,
  ledger: Ledger,
  members: readonly string[] = target.members,
): Promise<number> {
  return drainHopLedgers(members, (member, path) => target.httpGet(member, path), ledger);
}

/** Load is a background of acquire → release cycles at a fixed concurrency, until stopped. */
class Load {
  private stopping = false;
  private readonly loops: Array<Promise<void>> = [];
  cycles = 0;
  errors = 0;

  constructor(client: Client, concurrency: number, prefix: string) {
    for (let w = 0; w < concurrency; w++) {
      this.loops.push(
        (async () => {
          for (let n = 0; !this.stopping; n++) {
            try {
              const lease = await client.acquire(`${prefix}/${w}/${n}`, { ttlMs: LEASE_TTL_MS });
              await lease?.resign();
              this.cycles++;
            } catch {
              this.errors++;
              await sleep(10);
            }
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }
}

interface PhaseResult {
  readonly loaded: boolean;
  readonly writes: WritePath[];
  /** writesCpu is, for each of `writes`, what the node ending each step did meanwhile. */
  readonly writesCpu: Array<Partial<Record<(typeof WRITE_STEPS)[number], StepCpu>>>;
  readonly transfers: Array<{
    from: string;
    to: string;
    path?: TransferPath;
    /** cpu is what the node ending each step of `path` did meanwhile. */
    cpu?: Partial<Record<(typeof TRANSFER_STEPS)[number], StepCpu>>;
    /** acked is the first acknowledged probe write and where the ledger saw it. */
    acked?: ProbeOutcome & ProbeTrace;
    error?: string;
    /** records are the ledger's records of the transfer, with --raw. */
    records?: readonly HopRecord[];
  }>;
  readonly ledgerRecordsDropped: number;
  readonly load?: { readonly concurrency: number; readonly cycles: number; readonly errors: number };
}

async function runPhase(
  target: OmniRelayTarget,
  client: Client,
  options: Options,
  loaded: boolean,
  phase: string,
): Promise<PhaseResult> {
  const loadClient = loaded
    ? createClient({ endpoints: target.grpcEndpoints(), callTimeoutMs: CALL_MS_MAX, candidateId: 'load' })
    : undefined;
  const load =
    loadClient === undefined ? undefined : new Load(loadClient, options.loadConcurrency, `${phase}/load`);
  let dropped = 0;
  const writes: WritePath[] = [];
  const writesCpu: PhaseResult['writesCpu'] = [];
  const transfers: PhaseResult['transfers'] = [];
  try {
    if (load !== undefined) await sleep(1000);
    await drainLedgers(target, new Ledger());
    for (let i = 0; i < options.writes; i++) {
      const tag = `hops-${phase}-${i}`;
      const sentAt = sharedNowMs();
      const lease = await client.acquire(`${phase}/write/${i}`, { ttlMs: LEASE_TTL_MS, correlationId: tag });
      const receivedAt = sharedNowMs();
      const ledger = new Ledger();
      dropped += await drainLedgers(target, ledger);
      const path = writePath(ledger, tag, sentAt, receivedAt);
      writes.push(path);
      writesCpu.push(stepCpu(ledger, WRITE_STEPS, path));
      await lease?.resign();
      await sleep(WRITE_GAP_MS);
    }
    progress(`${phase}: ${writes.length} writes`);
    for (let rep = 0; rep < options.transfers; rep++) {
      const from = await target.leader(30_000);
      const to = target.members[(target.members.indexOf(from) + 1) % target.members.length]!;
      const termBefore = await target.raftTerm(from);
      await drainLedgers(target, new Ledger());
      const requestedAt = sharedNowMs();
      const transfer = target.transferLeadership(from, to).catch((e: unknown) => e);
      const probes: ProbeOutcome[] = [];
      try {
        const ack = await firstAck(taggedProbe(target, probes), {
          members: target.members,
          keyPrefix: `${phase}/transfer/${rep}`,
          intervalMs: 5,
          callDeadlineMs: 3000,
          overallMs: 15_000,
          accept: (term) => term > termBefore,
        });
        await transfer;
        const ackAt = performance.timeOrigin + ack.ackAt;
        const ledger = new Ledger();
        dropped += await drainLedgers(target, ledger);
        const path = transferPath(ledger, from, to, Number(ack.term), requestedAt, ackAt);
        const acked = ackedProbe(probes, ledger, to);
        transfers.push({
          from,
          to,
          path,
          cpu: stepCpu(ledger, TRANSFER_STEPS, path),
          ...(acked === undefined ? {} : { acked }),
          ...(options.raw ? { records: ledger.all() } : {}),
        });
        progress(
          `${phase}: transfer ${rep + 1}/${options.transfers} ${from} → ${to}: first term-${ack.term} write after ${(ackAt - requestedAt).toFixed(1)} ms`,
        );
      } catch (e) {
        await transfer;
        transfers.push({ from, to, error: e instanceof Error ? e.message : String(e) });
        progress(`${phase}: transfer ${rep + 1} failed: ${String(e)}`);
      }
      await target.tidy();
      await sleep(TRANSFER_SETTLE_MS);
    }
  } finally {
    await load?.stop();
    loadClient?.close();
  }
  return {
    loaded,
    writes,
    writesCpu,
    transfers,
    ledgerRecordsDropped: dropped,
    ...(load === undefined
      ? {}
      : { load: { concurrency: options.loadConcurrency, cycles: load.cycles, errors: load.errors } }),
  };
}

function emptyPhase(loaded: boolean): PhaseResult {
  return { loaded, writes: [], writesCpu: [], transfers: [], ledgerRecordsDropped: 0 };
}

/** StepFigure is one step's median (and p90) over the samples that had it, in ms. */
interface StepFigure {
  readonly step: string;
  readonly medianMs: number | null;
  readonly p90Ms: number | null;
  readonly samples: number;
  readonly floor: string;
  readonly floorMs: number | null;
  /**
   * cpuWaitMs and onCpuMs are the medians of what the node ending the step did meanwhile (StepCpu:
   * ready to run but waiting for a CPU, and on one), over the samples that had it; null without.
   */
  readonly cpuWaitMs?: number | null;
  readonly onCpuMs?: number | null;
}

function figures<K extends string>(
  steps: readonly K[],
  paths: ReadonlyArray<Partial<Record<K, number | undefined>>>,
  floorOf: (step: K) => { readonly floor: string; readonly floorMs: number | null },
  extra: ReadonlyArray<{ step: string; values: number[]; floor: string; floorMs: number | null }>,
  cpus: ReadonlyArray<Partial<Record<K, StepCpu>> | undefined> = [],
): StepFigure[] {
  const out: StepFigure[] = [];
  const durations = paths.map((p) => stepDurations(steps, p));
  const figure = (step: string, values: number[], floor: string, floorMs: number | null): StepFigure => ({
    step,
    medianMs: values.length === 0 ? null : round3(percentile(values, 50)),
    p90Ms: values.length === 0 ? null : round3(percentile(values, 90)),
    samples: values.length,
    floor,
    floorMs: floorMs === null ? null : round3(floorMs),
  });
  const median = (values: number[]): number | null =>
    values.length === 0 ? null : round3(percentile(values, 50));
  for (const step of steps.slice(1)) {
    const values = durations.flatMap((d) => (d[step] === undefined ? [] : [d[step]]));
    const f = floorOf(step);
    const cpu = cpus.flatMap((c): StepCpu[] => {
      const one = c?.[step];
      return one === undefined ? [] : [one];
    });
    out.push({
      ...figure(step, values, f.floor, f.floorMs),
      cpuWaitMs: median(cpu.map((c) => c.waitMs)),
      onCpuMs: median(cpu.map((c) => c.onCpuMs)),
    });
  }
  for (const e of extra) out.push(figure(e.step, e.values, e.floor, e.floorMs));
  const first = steps[0]!;
  const last = steps[steps.length - 1]!;
  const totals = paths.flatMap((p) =>
    p[first] !== undefined && p[last] !== undefined ? [p[last] - p[first]] : [],
  );
  const floorSum = steps.slice(1).reduce((sum, step) => sum + (floorOf(step).floorMs ?? 0), 0);
  out.push(figure('total', totals, 'the steps’ floors, summed', floorSum));
  return out;
}

/**
 * HopFloors are the floors of the ledger's kinds of step: half a message round trip on an open
 * gRPC stream — between a client and a node (the SDK's Leadership.Calls stream) and between
 * members (the Raft peer stream, Cluster.Forward) — a synced write, and work inside one process
 * (no floor).
 */
interface HopFloors {
  readonly clientOneWay: { readonly floor: string; readonly floorMs: number };
  readonly streamOneWay: { readonly floor: string; readonly floorMs: number };
  readonly streamRtt: { readonly floor: string; readonly floorMs: number };
  readonly fsync: { readonly floor: string; readonly floorMs: number };
  readonly streamRttFsync: { readonly floor: string; readonly floorMs: number };
  readonly cpu: { readonly floor: string; readonly floorMs: null };
}

function hopFloors(floors: Floors): HopFloors {
  const stream = floors.grpcStreamRttMs.median;
  const fsync = floors.fsync4KiBMs.median;
  return {
    clientOneWay: { floor: '½ gRPC stream RTT (Calls)', floorMs: stream / 2 },
    streamOneWay: { floor: '½ gRPC stream RTT', floorMs: stream / 2 },
    streamRtt: { floor: 'gRPC stream RTT', floorMs: stream },
    fsync: { floor: 'fsync', floorMs: fsync },
    streamRttFsync: { floor: 'gRPC stream RTT + fsync', floorMs: stream + fsync },
    cpu: { floor: 'CPU only', floorMs: null },
  };
}

function writeFigures(
  floors: Floors,
  writes: readonly WritePath[],
  cpus: PhaseResult['writesCpu'],
): StepFigure[] {
  const f = hopFloors(floors);
  const floorOf = (step: (typeof WRITE_STEPS)[number]): { floor: string; floorMs: number | null } => {
    switch (step) {
      case 'leader receive':
      case 'client receive':
        return f.clientOneWay;
      case 'follower receive':
      case 'ack received':
        return f.streamOneWay;
      case 'follower persisted':
        return f.fsync;
      default:
        return f.cpu;
    }
  };
  const leaderPersist = writes.flatMap((w) =>
    w.propose !== undefined && w[LEADER_PERSIST] !== undefined ? [w[LEADER_PERSIST] - w.propose] : [],
  );
  return figures(
    WRITE_STEPS,
    writes,
    floorOf,
    [{ step: LEADER_PERSIST, values: leaderPersist, ...f.fsync }],
    cpus,
  );
}

function transferFigures(floors: Floors, transfers: PhaseResult['transfers']): StepFigure[] {
  const f = hopFloors(floors);
  const floorOf = (step: (typeof TRANSFER_STEPS)[number]): { floor: string; floorMs: number | null } => {
    switch (step) {
      case 'leader takes the request':
        return f.clientOneWay;
      case 'TimeoutNow received':
      case 'vote request received':
      case 'vote granted received':
        return f.streamOneWay;
      case 'vote requests written (term and vote persisted)':
      case 'vote answer written (vote persisted)':
        return f.fsync;
      case 'first commit':
        return f.streamRttFsync;
      case 'first new-term write acknowledged':
        // A probe write already waiting at the new leader commits with its first entry.
        return { floor: '½ gRPC stream RTT (the answer)', floorMs: f.clientOneWay.floorMs };
      default:
        return f.cpu;
    }
  };
  const paths = transfers.flatMap((t) => (t.path === undefined ? [] : [t.path]));
  const cpus = transfers.flatMap((t) => (t.path === undefined ? [] : [t.cpu]));
  const probes = transfers.flatMap((t) =>
    t.acked === undefined || t.path?.['request sent'] === undefined
      ? []
      : [{ ...t.acked, startAt: t.path['request sent'] }],
  );
  return figures(TRANSFER_STEPS, paths, floorOf, probeRows(probes, 'the request', f), cpus);
}

function crashFigures(
  floors: Floors,
  killFloor: KillFloor | undefined,
  runs: readonly CrashRun[],
): StepFigure[] {
  const f = hopFloors(floors);
  const floorOf = (step: (typeof CRASH_STEPS)[number]): { floor: string; floorMs: number | null } => {
    switch (step) {
      case 'leader connection lost (new leader)':
        return killFloor === undefined
          ? { floor: 'kill -9 → reset seen (not measured)', floorMs: null }
          : {
              floor: `kill -9 → reset seen, a process of ${killFloor.rssMiB} MiB`,
              floorMs: killFloor.median,
            };
      case 'pre-vote requests written':
        return { floor: 'random delay (≤ unreachableCampaignDelayMsMax)', floorMs: null };
      case 'pre-vote granted received':
        return f.streamRtt;
      case 'vote request received':
      case 'vote granted received':
        return f.streamOneWay;
      case 'first write acknowledged':
        return f.clientOneWay;
      case 'vote requests written (term and vote persisted)':
      case 'vote answer written (vote persisted)':
        return f.fsync;
      case 'first commit':
        return f.streamRttFsync;
      default:
        return f.cpu;
    }
  };
  const paths = runs.flatMap((r) => (r.path === undefined ? [] : [r.path]));
  const cpus = runs.flatMap((r) => (r.path === undefined ? [] : [r.cpu]));
  const probes = runs.flatMap((r) =>
    r.acked === undefined || r.path?.['kill sent'] === undefined
      ? []
      : [{ ...r.acked, startAt: r.path['kill sent'] }],
  );
  return figures(CRASH_STEPS, paths, floorOf, probeRows(probes, 'the kill', f), cpus);
}

/**
 * probeRows are the rows of the acknowledged probe writes' own path (one per repetition, `startAt`
 * being the kill or the transfer request): when it was sent, its way to the node that first took
 * it, the hand-off to the leader when that node forwarded it, the leader's answer, the forwarding
 * node's relay of it, and the client's receipt.
 */
function probeRows(
  probes: ReadonlyArray<ProbeOutcome & ProbeTrace & { readonly startAt: number }>,
  start: string,
  f: HopFloors,
): Array<{ step: string; values: number[]; floor: string; floorMs: number | null }> {
  const span = (
    from: (p: (typeof probes)[number]) => number | undefined,
    to: (p: (typeof probes)[number]) => number | undefined,
  ): number[] =>
    probes.flatMap((p) => {
      const a = from(p);
      const b = to(p);
      return a === undefined || b === undefined ? [] : [b - a];
    });
  return [
    {
      step: `acked probe: sent (from ${start})`,
      values: span(
        (p) => p.startAt,
        (p) => p.sentAt,
      ),
      floor: '',
      floorMs: null,
    },
    {
      step: 'acked probe: sent → first node receive',
      values: span(
        (p) => p.sentAt,
        (p) => p.firstReceive,
      ),
      ...f.clientOneWay,
    },
    {
      step: 'acked probe: first node receive → forwarded (to the leader, or handed to the target by the old leader)',
      values: span(
        (p) => p.firstReceive,
        (p) => p.forwardSent,
      ),
      floor: 'CPU only (a hand-off, or once a leader is known)',
      floorMs: null,
    },
    {
      step: 'acked probe: → new leader receive',
      values: span(
        (p) => p.forwardSent ?? p.firstReceive,
        (p) => p.leaderReceive,
      ),
      floor: '0 (direct) or ½ gRPC stream RTT (forwarded)',
      floorMs: null,
    },
    {
      step: 'acked probe: new leader receive → answer (a handed-off write waits there for the move)',
      values: span(
        (p) => p.leaderReceive,
        (p) => p.answer,
      ),
      ...f.streamRttFsync,
    },
    {
      step: 'acked probe: answer → relayed by the forwarding node (forwarded ones)',
      values: span(
        (p) => p.answer,
        (p) => p.relayed,
      ),
      ...f.streamOneWay,
    },
    {
      step: 'acked probe: → client receive',
      values: span(
        (p) => p.relayed ?? p.answer,
        (p) => p.endAt,
      ),
      ...f.clientOneWay,
    },
  ];
}

/** ms formats a figure in ms ('—' for none). */
function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : v.toFixed(3);
}

/** cpuCell is a step's "waiting for a CPU / on a CPU" medians of the node that ended it ('—' without). */
function cpuCell(f: StepFigure | undefined): string {
  if (f?.cpuWaitMs === null || f?.cpuWaitMs === undefined) return '—';
  return `${ms(f.cpuWaitMs)} / ${ms(f.onCpuMs)}`;
}

/** crashTable is the crash figures' table (one phase: the unloaded cluster). */
function crashTable(figs: readonly StepFigure[], runs: readonly CrashRun[]): string {
  const failed: Record<string, number> = {};
  for (const r of runs)
    for (const [code, n] of Object.entries(r.failedBeforeAck)) failed[code] = (failed[code] ?? 0) + n;
  const failures = Object.entries(failed)
    .map(([code, n]) => `${code} ×${n}`)
    .join(', ');
  return [
    `### Crash failover (kill -9 of the leader, ${runs.length} times, unloaded)`,
    '',
    '| step (from the one before) | floor | floor ms | p50 ms | p90 ms | CPU wait / on CPU p50 ms | samples |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...figs.map(
      (f) =>
        `| ${f.step} | ${f.floor} | ${ms(f.floorMs)} | ${ms(f.medianMs)} | ${ms(f.p90Ms)} | ${cpuCell(f)} | ${f.samples} |`,
    ),
    '',
    `Probe writes that failed before the first acknowledgement: ${failures === '' ? 'none' : failures}` +
      ` (of ${runs.reduce((n, r) => n + r.sent, 0)} sent up to it).`,
  ].join('\n');
}

function table(title: string, unloaded: readonly StepFigure[], loaded: readonly StepFigure[]): string {
  const lines = [
    `### ${title}`,
    '',
    '| step (from the one before) | floor | floor ms | unloaded p50 ms | unloaded p90 ms | unloaded CPU wait / on CPU p50 ms | loaded p50 ms | loaded p90 ms | loaded CPU wait / on CPU p50 ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const u of unloaded) {
    const l = loaded.find((f) => f.step === u.step);
    lines.push(
      `| ${u.step} | ${u.floor} | ${ms(u.floorMs)} | ${ms(u.medianMs)} | ${ms(u.p90Ms)} | ${cpuCell(u)} | ${ms(l?.medianMs)} | ${ms(l?.p90Ms)} | ${cpuCell(l)} |`,
    );
  }
  return lines.join('\n');
}

/** floorsLine names every floor's median, in ms. */
function floorsLine(floors: Floors, killFloor: KillFloor | undefined): string {
  return (
    `gRPC unary RTT ${floors.grpcUnaryRttMs.median} ms, gRPC stream message RTT ${floors.grpcStreamRttMs.median} ms, ` +
    `TCP RTT ${floors.processRttMs.median} ms (between two processes; ${floors.rttMs.median} ms inside one), ` +
    `4 KiB fdatasync ${floors.fsync4KiBMs.median} ms` +
    (killFloor === undefined
      ? ''
      : `, kill -9 → reset seen ${killFloor.median} ms for ${killFloor.rssMiB} MiB`)
  );
}

async function main(): Promise<void> {
  installExitHandler();
  const options = parseOptions(process.argv.slice(2));
  const scratchDir = makeScratchDir('hops-floor-');
  const scratch = scratchDir.path;
  const target = new OmniRelayTarget({
    cpuProfDir: options.cpuProfDir,
    cpuProfIntervalUs: options.cpuProfIntervalUs,
    nodeEnv: { OMNIRELAY_HOP_LEDGER: 'true' },
    nodeArgs: options.nodeArgs,
  });
  let client: Client | undefined;
  try {
    progress('measuring the floors (loopback TCP and grpc-js round trips, 4 KiB fdatasync)');
    const floorsBefore = await measureFloors(scratch);
    progress(`floors: ${floorsLine(floorsBefore, undefined)}`);
    await target.start();
    client = createClient({
      endpoints: target.grpcEndpoints(),
      callTimeoutMs: CALL_MS_MAX,
      candidateId: 'hops',
    });
    // A few unmeasured writes: the client learns the leader and every connection is warm.
    for (let i = 0; i < 20; i++) await (await client.acquire(`warm/${i}`, { ttlMs: LEASE_TTL_MS }))?.resign();
    const phases = options.writes > 0 || options.transfers > 0;
    const unloaded = phases ? await runPhase(target, client, options, false, 'unloaded') : emptyPhase(false);
    const loaded = phases ? await runPhase(target, client, options, true, 'loaded') : emptyPhase(true);
    const crashes =
      options.crashes > 0
        ? await runCrashes(target, options.crashes, options.raw, (ledger, members) =>
            drainLedgers(target, ledger, members),
          )
        : { runs: [], dropped: 0 };
    const floors = floorsBefore;
    const rss = crashes.runs.flatMap((r) => (r.rssMiB === undefined ? [] : [r.rssMiB]));
    let killFloor: KillFloor | undefined;
    if (rss.length > 0) {
      progress(
        'measuring the kill floor (kill -9 of a process as large as the killed leaders → its reset seen)',
      );
      killFloor = await measureKillFloor(percentile(rss, 50));
    }
    const result = {
      bench: 'hops',
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? '',
        node: process.version,
        loadAverage: loadavg(),
      },
      options,
      floors: { ...floors, ...(killFloor === undefined ? {} : { killMs: killFloor }) },
      write: {
        unloaded: writeFigures(floors, unloaded.writes, unloaded.writesCpu),
        loaded: writeFigures(floors, loaded.writes, loaded.writesCpu),
      },
      transfer: {
        unloaded: transferFigures(floors, unloaded.transfers),
        loaded: transferFigures(floors, loaded.transfers),
      },
      crash: crashFigures(floors, killFloor, crashes.runs),
      phases: { unloaded, loaded, crashes },
    };
    mkdirSync(join(__dirname, '../results'), { recursive: true });
    const out = join(__dirname, '../results/hops.json');
    writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(
      [
        `Floors (p50): ${floorsLine(floors, killFloor)}` +
          ` (loaded phase: ${loaded.load?.cycles ?? 0} acquire → release cycles at concurrency ${options.loadConcurrency}` +
          ` in the background)`,
        '',
        ...(phases
          ? [
              table(
                'One write (acquire, c=1, through the leader)',
                result.write.unloaded,
                result.write.loaded,
              ),
              '',
              table('Planned transfer', result.transfer.unloaded, result.transfer.loaded),
              '',
            ]
          : []),
        ...(crashes.runs.length > 0 ? [crashTable(result.crash, crashes.runs), ''] : []),
        `written ${out}`,
        '',
      ].join('\n'),
    );
  } finally {
    client?.close();
    await target.stop();
    scratchDir.remove();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`hops bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
