/**
 * How a compaction's write of a large snapshot holds the event loop and the saves beside it
 * (issue 20, item 4: a stall of one turn holds every lease's renewal), written to
 * bench/results/storage.json.
 *
 * A LevelStorage in a temporary folder compacts a snapshot of about the size 100,000 leases make
 * (msgpack records of scope, holder, session, fence and expiry: `--leases N`, default 100,000),
 * stored in one value or in chunks of 1 MiB, 256 KiB (SNAPSHOT_CHUNK_BYTES, the stores' default)
 * or 64 KiB, round-robin `--reps N` times each (5) so that they share the machine's noise.
 * Meanwhile a loop saves one entry after another, as the Ready loop does. Per layout: the longest
 * event-loop turn during the compaction (monitorEventLoopDelay at 1 ms), the time until the
 * snapshot is durable, the saves' latency.
 * Run: npm run bench -- storage [--leases N] [--reps N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Packr } from 'msgpackr';
import { LevelStorage, SNAPSHOT_CHUNK_BYTES } from '@omnirelay/raft';
import type { Entry } from '@omnirelay/raft';
import { percentile, progress } from '../support/stats';

const USAGE = 'usage: npm run bench -- storage [--leases N] [--reps N]';
const ENTRY_BYTES = 120;
/** ENTRIES_PER_REP is how far the log moves between two compactions of a layout. */
const ENTRIES_PER_REP = 200;
/** SAVES_MAX bounds the saves issued during one compaction. */
const SAVES_MAX = 10_000;

/** LAYOUTS: 'one value' is one chunk of the whole size (then the metadata batch: one sync more than format 1's single batch). */
const LAYOUTS = [
  { name: 'one value', chunkBytes: 1 << 30 },
  { name: '1 MiB chunks', chunkBytes: 1 << 20 },
  { name: '256 KiB chunks', chunkBytes: 1 << 18 },
  { name: '64 KiB chunks', chunkBytes: 1 << 16 },
] as const;

interface Rep {
  readonly longestTurnMs: number;
  readonly durableMs: number;
  readonly saveMs: readonly number[];
}

function parse(argv: readonly string[]): { leases: number; reps: number } {
  const n: Record<string, number> = { '--leases': 100_000, '--reps': 5 };
  const bounds: Record<string, [number, number]> = { '--leases': [1, 1_000_000], '--reps': [1, 50] };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    if (!(name in bounds)) throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    const v = Number(inline ?? argv[++i]);
    const [lo, hi] = bounds[name]!;
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new Error(`${name} must be an integer from ${lo} to ${hi}\n${USAGE}`);
    n[name] = v;
  }
  return { leases: n['--leases']!, reps: n['--reps']! };
}

/**
 * leaseRecords are `leases` objects shaped like the leadership state machine's leases; the bench
 * keeps them alive throughout, so that the heap a collection walks is about a node's at that
 * count, as it is when a node writes its snapshot.
 */
function leaseRecords(leases: number): object[] {
  const records = [];
  for (let i = 0; i < leases; i++) {
    const client = i % 100;
    records.push({
      scope: `scale/c${client}/${i}`,
      holder: `scale-${client}`,
      session: `${client.toString(16).padStart(8, '0')}-5f1e-4c7a-9b1d-${i.toString(16).padStart(12, '0')}`,
      fence: 1000 + i,
      expiresAt: 1_796_526_000_000 + i * 7,
    });
  }
  return records;
}

function entry(index: number): Entry {
  return { kind: 'command', index, term: 1, data: Buffer.alloc(ENTRY_BYTES, index % 251) };
}

async function compactOnce(store: LevelStorage, data: Uint8Array): Promise<Rep> {
  const mirror = store.mirror;
  const first = mirror.lastIndex() + 1;
  const entries = Array.from({ length: ENTRIES_PER_REP }, (_, k) => entry(first + k));
  await store.save({
    hardState: { term: 1, vote: 'n1', commit: first + ENTRIES_PER_REP - 1 },
    entries,
    snapshot: undefined,
  });
  const index = mirror.lastIndex();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The monitor counts a delay from its second tick on: a turn blocked before its first goes unseen.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const saveMs: number[] = [];
  let done = false;
  const saves = (async () => {
    while (!done && saveMs.length < SAVES_MAX) {
      const next = mirror.lastIndex() + 1;
      const t = performance.now();
      await store.save({
        hardState: { term: 1, vote: 'n1', commit: next },
        entries: [entry(next)],
        snapshot: undefined,
      });
      saveMs.push(performance.now() - t);
    }
  })();
  const started = performance.now();
  const compacted = await store.compact(
    { index, term: 1, membership: mirror.snapshot().meta.membership },
    data,
  );
  const durableMs = performance.now() - started;
  delay.disable();
  done = true;
  await saves;
  if (!compacted) throw new Error(`the compaction at ${index} wrote nothing`);
  return { longestTurnMs: delay.max / 1e6, durableMs, saveMs };
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}

async function main(): Promise<void> {
  const { leases, reps } = parse(process.argv.slice(2));
  const records = leaseRecords(leases);
  // A plain Uint8Array, as the state machine's capture hands over (not a Buffer: LevelDB's binding
  // treats the two differently).
  const data = new Uint8Array(new Packr({ useRecords: false }).pack(records));
  progress(
    `storage: a snapshot of ${leases} leases is ${(data.length / 2 ** 20).toFixed(2)} MiB; ${reps} compactions per layout`,
  );
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-bench-storage-'));
  const stores: LevelStorage[] = [];
  try {
    for (const layout of LAYOUTS) {
      stores.push(
        await LevelStorage.open(join(root, String(stores.length)), {
          bootstrap: { voters: ['n1'], learners: [] },
          snapshotChunkBytes: layout.chunkBytes,
        }),
      );
    }
    const runs: Rep[][] = LAYOUTS.map(() => []);
    for (let r = 0; r < reps; r++) {
      for (let l = 0; l < LAYOUTS.length; l++) {
        // Fresh bytes each time, as every capture's are: written from a reused array, the binding's
        // synchronous part falls from 30–80 ms to 2 ms after a few writes, which no node sees.
        const rep = await compactOnce(stores[l]!, data.slice());
        runs[l]!.push(rep);
        progress(
          `storage: ${LAYOUTS[l]!.name} #${r + 1}: longest turn ${rep.longestTurnMs.toFixed(1)} ms, durable after ${rep.durableMs.toFixed(0)} ms, ${rep.saveMs.length} saves meanwhile (max ${Math.max(...rep.saveMs).toFixed(1)} ms)`,
        );
      }
    }
    const figures = LAYOUTS.map((layout, l) => {
      const rs = runs[l]!;
      const saves = rs.flatMap((r) => r.saveMs);
      return {
        layout: layout.chunkBytes === SNAPSHOT_CHUNK_BYTES ? `${layout.name} (the default)` : layout.name,
        chunkBytes: Math.min(layout.chunkBytes, data.length),
        longestTurnMs: {
          median: median(rs.map((r) => r.longestTurnMs)),
          max: Math.max(...rs.map((r) => r.longestTurnMs)),
        },
        durableMs: {
          median: median(rs.map((r) => r.durableMs)),
          max: Math.max(...rs.map((r) => r.durableMs)),
        },
        savesDuring: {
          count: saves.length,
          p50: median(saves),
          p99: percentile(saves, 99),
          max: Math.max(...saves),
        },
      };
    });
    const results = {
      machine: { cpus: cpus().length, node: process.version },
      startedAt: new Date().toISOString(),
      leases,
      snapshotBytes: data.length,
      reps,
      figures,
    };
    mkdirSync(join(__dirname, '../results'), { recursive: true });
    const out = join(__dirname, '../results/storage.json');
    writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
    const f = (v: number): string => v.toFixed(1);
    const lines = [
      `Snapshot write: ${leases} leases, ${(data.length / 2 ** 20).toFixed(2)} MiB, ${reps} compactions per layout; ${cpus().length} CPUs`,
      '',
      '| layout | longest turn, median / max | durable after, median / max | saves meanwhile: count, p50 / p99 / max |',
      '|---|---:|---:|---:|',
      ...figures.map(
        (x) =>
          `| ${x.layout} | ${f(x.longestTurnMs.median)} / ${f(x.longestTurnMs.max)} ms | ${f(x.durableMs.median)} / ${f(x.durableMs.max)} ms | ${x.savesDuring.count}, ${f(x.savesDuring.p50)} / ${f(x.savesDuring.p99)} / ${f(x.savesDuring.max)} ms |`,
      ),
      '',
      `written to ${out}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    // The records stay reachable until here (see leaseRecords).
    if (records.length !== leases) throw new Error('lost the lease records');
  } finally {
    for (const s of stores) await s.close();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
