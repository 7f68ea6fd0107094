/**
 * snapshot-stalls measures how long a leader's snapshot and log compaction hold its event loop at
 * 100,000 leases, phase by phase, through the code a RaftNode runs (`maybeCompact` → `compact`):
 * `start`, the state machine's capture (and the first slice while it shared that turn); `encode`,
 * the slices, one per turn (`encodeCapture`); `write`, the store's write of the snapshot in chunks;
 * `compact log`, the store's compaction of the log (`LevelStorage.compact`: the mirror's
 * `createSnapshot`, LevelDB's deletes); `after`, the 1.5 s after it (a collection of what the
 * compaction freed lands there); and, before it, `control`: 2 s of the same load with no snapshot.
 *
 * A LevelStorage in a temporary folder (removed at the end) holds the log a leader holds at
 * 100,000 leases: the grants, then renew entries of `--renew-batch` leases (as the renewal batcher
 * folds them into one entry per commit) until `--log-mib` MiB of entries (entrySizeBytes) were
 * applied past the last snapshot, which is when a node with `--snapshot-log-bytes` of that size
 * takes one, with a tail of at most 5,000 entries and half of it. The grants and renewals are
 * applied to a LeadershipFsm (its captures go through the adapter the server uses). Renewals keep
 * coming as on a leader: `--renewals-per-second` in entries of `--load-batch` leases, each saved (a
 * synced write) and applied. `--new-leases N` grants the last N leases among the renewals before
 * the first measured snapshot, as while a node fills up: its capture meets N scope names created
 * since the names were last sorted. `--heap-mib N` keeps N MiB of small objects alive besides, as a
 * leader's streams and maps do (its collections then take longer).
 *
 * Meanwhile a 1 ms timer records every gap between its runs (a gap of 1 ms + X: the loop was held
 * X), with how long the thread waited for a CPU across it (Linux schedstat) and the GC pauses
 * (PerformanceObserver `gc`). A gap goes to the phase it overlaps most. Per phase: its length,
 * the longest gap (and that less the CPU wait: the process's own work and GC), the GC pauses; and
 * the synchronous pieces timed directly, in wall time and in the thread's CPU time (schedstat,
 * whose CPU time moves in steps of up to 4 ms on this kernel: read it over many pieces). `--reps N`
 * snapshots in a row (3 by default), each after another `--log-mib` of renewals. Figures go to
 * bench/results/snapshot-stalls.json.
 *
 *   node --expose-gc -r @swc-node/register bench/storage/snapshot-stalls.ts [--leases N] [--reps N]
 *     [--renew-batch N] [--log-mib N] [--renewals-per-second N] [--load-batch N] [--new-leases N]
 *     [--heap-mib N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
// From source, like the FSM benches: the node's own encoding loop and CPU-wait reader are internal.
import type { Entry, HardState, SnapshotCapture, SnapshotMeta } from '../../packages/raft/src/index';
import { LevelStorage, entrySizeBytes } from '../../packages/raft/src/index';
import { encodeCapture } from '../../packages/raft/src/node/encode-capture';
import { CpuWaitReader } from '../../packages/raft/src/node/cpu-wait';
import { gcKind } from '../../packages/raft/src/node/stall-probe';
import type { Command, LeaseRef } from '../../packages/leadership-fsm/src/index';
import { LeadershipFsm, encodeCommand } from '../../packages/leadership-fsm/src/index';
import { encodeEnvelope } from '../../packages/server/src/leadership/envelope';
import { progress } from '../support/stats';

const USAGE =
  'usage: node --expose-gc -r @swc-node/register bench/storage/snapshot-stalls.ts [--leases N] [--reps N] [--renew-batch N] [--log-mib N] [--renewals-per-second N] [--load-batch N] [--new-leases N] [--heap-mib N]';

/** The node's defaults (RAFT_NODE_DEFAULTS): a tail of at most 5,000 entries and half of snapshotLogBytes. */
const TAIL_ENTRIES = 5_000;
const TTL_MS = 10_000;
/** ENTRIES_PER_SAVE is how many entries one save of the fill carries (a Ready's batch). */
const ENTRIES_PER_SAVE = 16;
/** TICK_MS is the period of the timer whose lateness measures the loop. */
const TICK_MS = 1;
/** CONTROL_MS is how long the bench measures the load alone before each snapshot. */
const CONTROL_MS = 2_000;
/** AFTER_MS is how long after the compaction the bench keeps measuring. */
const AFTER_MS = 1_500;
const PHASES = ['control', 'start', 'encode', 'write', 'compact log', 'after'] as const;
type Phase = (typeof PHASES)[number];

const gc = (globalThis as { gc?: () => void }).gc;

interface Options {
  readonly leases: number;
  readonly reps: number;
  readonly renewBatch: number;
  readonly logMiB: number;
  readonly renewalsPerSecond: number;
  readonly loadBatch: number;
  readonly newLeases: number;
  readonly heapMiB: number;
}

const OPTIONS: Readonly<Record<string, { key: keyof Options; value: number; lo: number; hi: number }>> = {
  '--leases': { key: 'leases', value: 100_000, lo: 1_000, hi: 1_000_000 },
  '--reps': { key: 'reps', value: 3, lo: 1, hi: 20 },
  '--renew-batch': { key: 'renewBatch', value: 1_000, lo: 1, hi: 4_096 },
  '--log-mib': { key: 'logMiB', value: 64, lo: 1, hi: 1_024 },
  '--renewals-per-second': { key: 'renewalsPerSecond', value: 30_000, lo: 0, hi: 200_000 },
  '--load-batch': { key: 'loadBatch', value: 1_000, lo: 1, hi: 4_096 },
  '--new-leases': { key: 'newLeases', value: 0, lo: 0, hi: 1_000_000 },
  '--heap-mib': { key: 'heapMiB', value: 0, lo: 0, hi: 4_096 },
};

function parse(argv: readonly string[]): Options {
  const options = Object.fromEntries(Object.values(OPTIONS).map((o) => [o.key, o.value])) as Record<
    keyof Options,
    number
  >;
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const option = OPTIONS[name];
    if (option === undefined) throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    const v = Number(inline ?? argv[++i]);
    if (!Number.isInteger(v) || v < option.lo || v > option.hi) {
      throw new Error(`${name} must be an integer from ${option.lo} to ${option.hi}\n${USAGE}`);
    }
    options[option.key] = v;
  }
  if (options.newLeases >= options.leases) throw new Error(`--new-leases must be below --leases\n${USAGE}`);
  return options;
}

/** Gap is one run of the tick timer: when it ran, how long after the previous run, the CPU wait across. */
interface Gap {
  readonly startMs: number;
  readonly endMs: number;
  readonly waitMs: number;
}

/** GcPause is one garbage-collection pause. */
interface GcPause {
  readonly startMs: number;
  readonly ms: number;
  /** kind is perf_hooks' NODE_PERFORMANCE_GC_*: 1 a scavenge, 4 a mark-compact, 8 incremental marking, 16 weak callbacks. */
  readonly kind: number;
}

/**
 * schedstat reads the event-loop thread's scheduler statistics (Linux): its wait for a CPU, for
 * the loop's gaps, and its time on one, for the timed pieces; one open file for both.
 */
const schedstat = new CpuWaitReader();

/** LoopWatch records the tick timer's gaps and the GC pauses while it runs. */
class LoopWatch {
  readonly gaps: Gap[] = [];
  readonly pauses: GcPause[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = gcKind(e);
      this.pauses.push({ startMs: e.startTime, ms: e.duration, kind });
    }
  });

  start(): void {
    this.observer.observe({ entryTypes: ['gc'] });
    let previousMs = performance.now();
    let previousWaitMs = schedstat.read() ?? 0;
    const tick = (): void => {
      const nowMs = performance.now();
      const waitMs = schedstat.read() ?? 0;
      this.gaps.push({ startMs: previousMs, endMs: nowMs, waitMs: waitMs - previousWaitMs });
      previousMs = nowMs;
      previousWaitMs = waitMs;
      this.timer = setTimeout(tick, TICK_MS);
    };
    this.timer = setTimeout(tick, TICK_MS);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    // GC entries are delivered after the turn that ran the collections.
    await new Promise((resolve) => setTimeout(resolve, 50));
    this.observer.disconnect();
  }
}

/** PhaseFigures is what one phase of one snapshot held the loop. */
interface PhaseFigures {
  readonly ms: number;
  /** longestTurnMs is the longest gap less the timer's period: how long the loop was held at once. */
  readonly longestTurnMs: number;
  /** longestOwnMs is that gap less the CPU wait across it: the process's own work and GC. */
  readonly longestOwnMs: number;
  /** longestOwnGcMs is how much of that gap GC pauses took. */
  readonly longestOwnGcMs: number;
  readonly gcPauses: number;
  readonly gcMsMax: number;
  readonly gcMsTotal: number;
  readonly majorGcMsMax: number;
  /** gcPausesOver5Ms are its GC pauses of 5 ms or more: kind and milliseconds. */
  readonly gcPausesOver5Ms: readonly { kind: number; ms: number }[];
}

/** RepFigures is one snapshot's phases and its synchronous pieces timed directly (wall and thread CPU). */
interface RepFigures {
  readonly index: number;
  readonly snapshotBytes: number;
  readonly logEntriesBefore: number;
  readonly logEntriesAfter: number;
  readonly phases: Readonly<Record<Phase, PhaseFigures>>;
  readonly captureMs: number;
  readonly captureCpuMs: number;
  /**
   * firstTurn is the capture's synchronous task (RaftNode.maybeCompact's): the capture, and the
   * first slice when it runs in the same turn (before this branch, encodeCapture ran it at once).
   */
  readonly firstTurnMs: number;
  readonly firstTurnCpuMs: number;
  readonly slices: number;
  readonly sliceMsMax: number;
  readonly sliceCpuMsMax: number;
  /** sliceCpuMs is every slice's CPU time, in order (the scopes', then the join's). */
  readonly sliceCpuMs: readonly number[];
  readonly createSnapshotMs: number;
  readonly createSnapshotCpuMs: number;
  readonly loadTaskCpuMsMax: number;
  readonly loadEntries: number;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** phaseFigures attributes every gap and pause to the phase it overlaps most. */
function phaseFigures(
  watch: LoopWatch,
  bounds: Readonly<Record<Phase, readonly [number, number]>>,
): Record<Phase, PhaseFigures> {
  const phaseOf = (from: number, to: number): Phase | undefined => {
    let best: Phase | undefined;
    let bestMs = 0;
    for (const p of PHASES) {
      const ms = overlap(from, to, bounds[p][0], bounds[p][1]);
      if (ms > bestMs || (best === undefined && from >= bounds[p][0] && from <= bounds[p][1])) {
        best = p;
        bestMs = ms;
      }
    }
    return best;
  };
  const out = {} as Record<Phase, PhaseFigures>;
  for (const p of PHASES) {
    const gaps = watch.gaps.filter((g) => phaseOf(g.startMs, g.endMs) === p);
    const pauses = watch.pauses.filter((g) => phaseOf(g.startMs, g.startMs + g.ms) === p);
    const longest = gaps.reduce<Gap | undefined>(
      (a, g) => (a === undefined || g.endMs - g.startMs > a.endMs - a.startMs ? g : a),
      undefined,
    );
    const turnMs = longest === undefined ? 0 : Math.max(0, longest.endMs - longest.startMs - TICK_MS);
    const gcInLongest =
      longest === undefined
        ? 0
        : watch.pauses.reduce(
            (a, g) => a + overlap(g.startMs, g.startMs + g.ms, longest.startMs, longest.endMs),
            0,
          );
    out[p] = {
      ms: round(bounds[p][1] - bounds[p][0]),
      longestTurnMs: round(turnMs),
      longestOwnMs: round(Math.max(0, turnMs - (longest?.waitMs ?? 0))),
      longestOwnGcMs: round(gcInLongest),
      gcPauses: pauses.length,
      gcMsMax: round(Math.max(0, ...pauses.map((g) => g.ms))),
      gcMsTotal: round(pauses.reduce((a, g) => a + g.ms, 0)),
      majorGcMsMax: round(Math.max(0, ...pauses.filter((g) => g.kind !== 1).map((g) => g.ms))),
      gcPausesOver5Ms: pauses.filter((g) => g.ms >= 5).map((g) => ({ kind: g.kind, ms: round(g.ms) })),
    };
  }
  return out;
}

/** Timed is a synchronous piece: when it began, its wall time and its thread CPU time. */
interface Timed {
  readonly startMs: number;
  readonly ms: number;
  readonly cpuMs: number;
}

function timed<T>(work: () => T, into: Timed[]): T {
  const startMs = performance.now();
  const cpuStartMs = schedstat.readOnCpu() ?? 0;
  try {
    return work();
  } finally {
    into.push({ startMs, ms: performance.now() - startMs, cpuMs: (schedstat.readOnCpu() ?? 0) - cpuStartMs });
  }
}

type Made = { entry: Entry; bytes: Uint8Array; stampMs: number };

/** Leader is the state a leader holds: its store, its log's next index, its state machine, its leases. */
class Leader {
  index = 0;
  stampMs = 1_796_526_000_000;
  readonly fsm = new LeadershipFsm();
  readonly leases: LeaseRef[] = [];
  /** appliedBytes is the entrySizeBytes total applied since start (as RaftNode counts it). */
  appliedBytes = 0;
  snapshotAppliedBytes = 0;
  /** appliedIndex is the index of the last entry applied (a later one may be in a save). */
  appliedIndex = 0;
  /** granted is how many leases were granted so far. */
  granted = 0;
  private nextRenewal = 0;

  constructor(readonly storage: LevelStorage) {}

  /** entry makes the next entry of `command`, its data the envelope the server replicates. */
  entry(command: Command): Made {
    this.index += 1;
    this.stampMs += 1;
    const bytes = encodeCommand(command);
    const data = encodeEnvelope({
      stampMs: this.stampMs,
      proposerId: 'n1',
      command: bytes,
      transport: 'h2c',
      principal: '',
    });
    return { entry: { kind: 'command', index: this.index, term: 1, data }, bytes, stampMs: this.stampMs };
  }

  /** grant is the acquire of the next lease, on a scope of its own, as the scale bench's clients make. */
  grant(): Command {
    const i = this.granted++;
    const client = i % 100;
    const scope = `scale/c${client}/${i}`;
    this.leases.push({ scope, fenceToken: BigInt(this.index + 1) });
    return {
      type: 'acquire',
      correlationId: `g${i}`,
      scope,
      candidateId: `scale-${client}`,
      sessionId: `${client.toString(16).padStart(8, '0')}-5f1e-4c7a-9b1d-${client.toString(16).padStart(12, '0')}`,
      metadata: '',
      leaseTtlMs: TTL_MS,
    };
  }

  /** renewal is the next renew command of `count` leases, round-robin over every lease. */
  renewal(count: number): Command {
    const leases: LeaseRef[] = [];
    for (let k = 0; k < count; k++) {
      leases.push(this.leases[this.nextRenewal]!);
      this.nextRenewal = (this.nextRenewal + 1) % this.leases.length;
    }
    return { type: 'renew', correlationId: `r${this.index}`, leases };
  }

  /** save makes `entries` durable (one synced write) with the hard state that commits them. */
  async save(entries: readonly Entry[]): Promise<void> {
    const hardState: HardState = { term: 1, vote: 'n1', commit: entries[entries.length - 1]!.index };
    await this.storage.save({ hardState, entries, snapshot: undefined });
  }

  apply(made: Made): void {
    const result = this.fsm.apply({
      index: made.entry.index,
      term: 1,
      stampMs: made.stampMs,
      proposerId: 'n1',
      principal: '',
      command: made.bytes,
    });
    if (!result.ok) throw new Error(`bench entry ${made.entry.index} refused: ${result.error.message}`);
    this.appliedBytes += entrySizeBytes(made.entry);
    this.appliedIndex = made.entry.index;
  }

  /** run saves and applies `commands`, ENTRIES_PER_SAVE per save. */
  async run(commands: Iterable<Command>): Promise<void> {
    let batch: Made[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.save(batch.map((m) => m.entry));
      for (const m of batch) this.apply(m);
      batch = [];
    };
    for (const command of commands) {
      batch.push(this.entry(command));
      if (batch.length === ENTRIES_PER_SAVE) await flush();
    }
    await flush();
  }

  /** captureSnapshot is the server's adapter (LeadershipStateMachine), its slices timed. */
  captureSnapshot(slices: Timed[]): SnapshotCapture {
    const capture = this.fsm.captureSnapshot();
    return {
      encodeSlice: () => timed(() => capture.encodeSlice(), slices),
      release: () => capture.release(),
    };
  }
}

function* grants(leader: Leader, leases: number): Generator<Command> {
  for (let i = 0; i < leases; i++) yield leader.grant();
}

/**
 * log is the log a leader adds between two snapshots: renew entries of `renewBatch` leases until
 * `appliedBytes` were applied, with the grants of `newLeases` more leases spread among them.
 */
function* log(leader: Leader, options: Options, newLeases: number): Generator<Command> {
  const entriesAbout = Math.ceil((options.logMiB * 2 ** 20) / (options.renewBatch * 30));
  const grantEvery = newLeases === 0 ? Infinity : Math.max(1, Math.floor(entriesAbout / newLeases));
  let granted = 0;
  let n = 0;
  while (
    leader.appliedBytes - leader.snapshotAppliedBytes < options.logMiB * 2 ** 20 ||
    granted < newLeases
  ) {
    leader.stampMs += 20;
    if (
      granted < newLeases &&
      (n % grantEvery === 0 || leader.appliedBytes - leader.snapshotAppliedBytes >= options.logMiB * 2 ** 20)
    ) {
      granted++;
      yield leader.grant();
    } else {
      yield leader.renewal(options.renewBatch);
    }
    n++;
  }
}

/** ballast keeps `mib` MiB of small live objects, as a leader's other state (streams, maps) fills its heap. */
function ballast(mib: number): unknown[] {
  const kept: unknown[] = [];
  for (let bytes = 0; bytes < mib * 2 ** 20; bytes += 96) {
    kept.push({ a: bytes, b: `k${bytes}`, c: [bytes] });
  }
  return kept;
}

/**
 * startLoad starts the renewal load: an entry of loadBatch leases at the rate asked, saved then
 * applied, as the leader's Ready loop does. `stop` ends it and answers its tasks' times.
 */
function startLoad(leader: Leader, options: Options): { stop(): Promise<Timed[]> } {
  let loading = options.renewalsPerSecond > 0;
  const tasks: Timed[] = [];
  const everyMs = (options.loadBatch * 1000) / Math.max(1, options.renewalsPerSecond);
  const running = (async () => {
    while (loading) {
      const dueMs = performance.now() + everyMs;
      leader.stampMs += Math.round(everyMs);
      const made = timed(() => leader.entry(leader.renewal(options.loadBatch)), tasks);
      await leader.save([made.entry]);
      timed(() => leader.apply(made), tasks);
      const waitMs = dueMs - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  })();
  return {
    stop: async () => {
      loading = false;
      await running;
      return tasks;
    },
  };
}

/**
 * snapshot takes one snapshot as RaftNode.maybeCompact and compact do, under the renewal load,
 * and answers its phases' bounds and directly timed pieces.
 */
async function snapshot(
  leader: Leader,
  options: Options,
  watch: LoopWatch | undefined,
): Promise<Omit<RepFigures, 'phases'> & { bounds: Record<Phase, [number, number]> }> {
  const storage = leader.storage;
  const logBytes = options.logMiB * 2 ** 20;
  const logEntriesBefore = storage.mirror.lastIndex() - storage.mirror.firstIndex() + 1;
  // The renewal load, and before the snapshot a stretch of it alone: what the loop does without one.
  const load = startLoad(leader, options);
  const controlStartMs = performance.now();
  if (watch !== undefined) await new Promise((resolve) => setTimeout(resolve, CONTROL_MS));
  const controlEndMs = performance.now();

  // The mirror's createSnapshot, timed: where the write ends and the log's compaction begins.
  const mirror = storage.mirror;
  const createSnapshot = mirror.createSnapshot.bind(mirror);
  const creates: Timed[] = [];
  mirror.createSnapshot = (...args) => timed(() => createSnapshot(...args), creates);
  // maybeCompact: at the applied index, its term and the membership applied there.
  const index = leader.appliedIndex;
  const meta: SnapshotMeta = {
    index,
    term: storage.mirror.term(index)!,
    membership: storage.mirror.snapshot().meta.membership,
  };
  const slices: Timed[] = [];
  const captures: Timed[] = [];
  let encodedMs = 0;
  let compactedMs = 0;
  let bytes = 0;
  leader.snapshotAppliedBytes = leader.appliedBytes;
  const capture = timed(() => leader.captureSnapshot(slices), captures);
  // Whether the first slice runs in the capture's turn: a turn ends before the next setImmediate.
  let captureTurn = true;
  setImmediate(() => (captureTurn = false));
  let firstSliceInCaptureTurn: boolean | undefined;
  const encodeSlice = capture.encodeSlice.bind(capture);
  capture.encodeSlice = () => {
    firstSliceInCaptureTurn ??= captureTurn;
    return encodeSlice();
  };
  try {
    // compact: the first slice runs in this same turn, as in RaftNode.compact.
    const encoded = await encodeCapture(capture, () => false);
    encodedMs = performance.now();
    if (encoded === undefined) throw new Error('encodeCapture stopped');
    bytes = encoded.data.byteLength;
    const stored = await storage.compact(meta, encoded.data, TAIL_ENTRIES, logBytes / 2);
    compactedMs = performance.now();
    if (!stored) throw new Error(`snapshot at ${index} was not stored`);
  } finally {
    capture.release();
    Reflect.deleteProperty(mirror, 'createSnapshot');
  }
  if (watch !== undefined) await new Promise((resolve) => setTimeout(resolve, AFTER_MS));
  const loadTasks = await load.stop();
  const afterMs = performance.now();
  const captured = captures[0]!;
  const first = slices[0]!;
  const firstSliceEndMs = first.startMs + first.ms;
  const created = creates[0]!;
  return {
    index,
    snapshotBytes: bytes,
    logEntriesBefore,
    logEntriesAfter: storage.mirror.lastIndex() - storage.mirror.firstIndex() + 1,
    captureMs: round(captured.ms),
    captureCpuMs: round(captured.cpuMs),
    firstTurnMs: round(firstSliceInCaptureTurn === true ? firstSliceEndMs - captured.startMs : captured.ms),
    firstTurnCpuMs: round(captured.cpuMs + (firstSliceInCaptureTurn === true ? first.cpuMs : 0)),
    slices: slices.length,
    sliceMsMax: round(Math.max(...slices.map((t) => t.ms))),
    sliceCpuMsMax: round(Math.max(...slices.map((t) => t.cpuMs))),
    sliceCpuMs: slices.map((t) => round(t.cpuMs)),
    createSnapshotMs: round(created.ms),
    createSnapshotCpuMs: round(created.cpuMs),
    loadTaskCpuMsMax: round(Math.max(0, ...loadTasks.map((t) => t.cpuMs))),
    loadEntries: loadTasks.length / 2,
    bounds: {
      control: [controlStartMs, controlEndMs],
      start: [captured.startMs, firstSliceEndMs],
      encode: [firstSliceEndMs, encodedMs],
      write: [encodedMs, created.startMs],
      'compact log': [created.startMs, compactedMs],
      after: [compactedMs, afterMs],
    },
  };
}

function table(reps: readonly RepFigures[]): string {
  const lines = [
    '| rep | phase | length ms | longest turn ms | less CPU wait ms (GC in it) | GC pauses: count, max, total ms (max major) |',
    '|---|---|---:|---:|---:|---|',
  ];
  reps.forEach((r, i) => {
    for (const p of PHASES) {
      const f = r.phases[p];
      lines.push(
        `| ${i + 1} | ${p} | ${f.ms} | ${f.longestTurnMs} | ${f.longestOwnMs} (${f.longestOwnGcMs}) | ${f.gcPauses}, ${f.gcMsMax}, ${f.gcMsTotal} (${f.majorGcMsMax}) |`,
      );
    }
  });
  lines.push('');
  lines.push('Synchronous pieces timed directly, wall / event-loop thread CPU ms:');
  lines.push('');
  lines.push(
    "| rep | snapshot MiB | log entries before → after | capture | capture's turn (with the first slice if in it) | slices: count, longest | createSnapshot | load: entries, longest task CPU |",
  );
  lines.push('|---|---:|---|---:|---:|---|---:|---|');
  reps.forEach((r, i) => {
    lines.push(
      `| ${i + 1} | ${(r.snapshotBytes / 2 ** 20).toFixed(1)} | ${r.logEntriesBefore} → ${r.logEntriesAfter} | ${r.captureMs} / ${r.captureCpuMs} | ${r.firstTurnMs} / ${r.firstTurnCpuMs} | ${r.slices}, ${r.sliceMsMax} / ${r.sliceCpuMsMax} | ${r.createSnapshotMs} / ${r.createSnapshotCpuMs} | ${r.loadEntries}, ${r.loadTaskCpuMsMax} |`,
    );
  });
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const kept = ballast(options.heapMiB);
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-snapshot-stalls-'));
  const storage = await LevelStorage.open(dir, { bootstrap: { voters: ['n1'], learners: [] } });
  const reps: RepFigures[] = [];
  try {
    const leader = new Leader(storage);
    const startedMs = performance.now();
    await leader.run(grants(leader, options.leases - options.newLeases));
    progress(`${leader.granted} leases granted in ${Math.round(performance.now() - startedMs)} ms`);
    // The log as a running leader holds it: one earlier snapshot (its tail kept), then renewals.
    await leader.run(log(leader, options, 0));
    await snapshot(leader, { ...options, renewalsPerSecond: 0 }, undefined);
    for (let rep = 0; rep < options.reps; rep++) {
      const filledMs = performance.now();
      // The new leases come before the first measured snapshot: a node filling up.
      await leader.run(log(leader, options, rep === 0 ? options.newLeases : 0));
      progress(
        `rep ${rep + 1}: ${options.logMiB} MiB of renewals in ${Math.round(performance.now() - filledMs)} ms; log ${storage.mirror.firstIndex()}..${storage.mirror.lastIndex()}; heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB`,
      );
      const watch = new LoopWatch();
      watch.start();
      const { bounds, ...figures } = await snapshot(leader, options, watch);
      await watch.stop();
      reps.push({ ...figures, phases: phaseFigures(watch, bounds) });
    }
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    schedstat.close();
  }
  const results = {
    node: process.version,
    gcExposed: gc !== undefined,
    options,
    ballastItems: kept.length,
    reps,
  };
  const out = join(__dirname, '..', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'snapshot-stalls.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    `snapshot stalls at ${options.leases.toLocaleString('en-US')} leases (${process.version}; renew entries of ${options.renewBatch}, a snapshot every ${options.logMiB} MiB of log, load ${options.renewalsPerSecond.toLocaleString('en-US')} renewals/s in entries of ${options.loadBatch}, ${options.newLeases} new leases before the first, ${options.heapMiB} MiB ballast)`,
  );
  console.log(table(reps));
  console.log('written to bench/results/snapshot-stalls.json');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
