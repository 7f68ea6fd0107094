/**
 * fsm-bench measures the leadership state machine: commands applied per second (a mix of
 * acquire, renew and resign, decoded from bytes as a replica does), renewals per second in
 * batches, snapshot size and time to snapshot and restore with 100,000 live leases, and memory
 * per lease, and what sustained renewals cost the garbage collector (every lease renewed
 * RENEW_ROUNDS times: scavenges, their time, and how much the old generation grew per renewal:
 * what survived young collections). Timings of snapshot, restore and queries are the median of 5 runs (and the first,
 * cold one). Figures go to bench/results/fsm.json; nothing here is a pass/fail timing.
 *
 *   node --expose-gc -r @swc-node/register bench/fsm/fsm-bench.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
// The bench runs the package from source (no build step), through its one public entry point.
import type { Command, LogEntry } from '../../packages/leadership-fsm/src/index';
import { LeadershipFsm, encodeCommand } from '../../packages/leadership-fsm/src/index';
import { COLD_BYTES, ColdSweep, DUE_RENEW_EVERY_MS, DUE_STEP_MS, dueScanSteps } from './due-scan-workload';

const LIVE_LEASES = 100_000;
const MIX_CYCLES = 60_000;
const RENEW_BATCH = 1_000;
const TTL_MS = 10_000;
/** RENEW_ROUNDS is how often the sustained phase renews every live lease (a lease renews ~3 times a TTL). */
const RENEW_ROUNDS = 10;
const RUNS = 5;

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsedBytes(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** LogBuilder encodes commands into entries with increasing indexes and stamps, as a leader would. */
class LogBuilder {
  readonly entries: LogEntry[] = [];
  index = 0;
  stampMs = 1_700_000_000_000;

  add(command: Command): number {
    this.index += 1;
    this.stampMs += 1;
    this.entries.push({
      index: this.index,
      term: 1,
      stampMs: this.stampMs,
      proposerId: 'n1',
      command: encodeCommand(command),
    });
    return this.index;
  }
}

/** measure runs `work` RUNS times and returns the first and the median time in milliseconds. */
function measure(work: () => unknown): { firstMs: number; medianMs: number } {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  const sorted = times.slice().sort((a, b) => a - b);
  return { firstMs: round(times[0]!), medianMs: round(sorted[sorted.length >> 1]!) };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** timeApply applies `entries` and returns the milliseconds it took; `afterEach` runs after each entry. */
function timeApply(fsm: LeadershipFsm, entries: readonly LogEntry[], afterEach?: () => void): number {
  const start = performance.now();
  for (const entry of entries) {
    const result = fsm.apply(entry);
    if (!result.ok) {
      throw new Error(`bench entry ${entry.index} refused: ${result.error.message}`);
    }
    afterEach?.();
  }
  return performance.now() - start;
}

/** The mix: per cycle one acquire, three single renewals, one resign (5 commands). */
function benchMix(): { commandsPerSecond: number; commands: number; elapsedMs: number } {
  const log = new LogBuilder();
  for (let i = 0; i < MIX_CYCLES; i++) {
    const scope = `shard/mix/${i % 1_000}`;
    const fence = BigInt(
      log.add({
        type: 'acquire',
        correlationId: `a${i}`,
        scope,
        candidateId: `node-${i % 7}`,
        metadata: '',
        leaseTtlMs: TTL_MS,
      }),
    );
    for (let r = 0; r < 3; r++) {
      log.add({ type: 'renew', correlationId: `r${i}.${r}`, leases: [{ scope, fenceToken: fence }] });
    }
    log.add({ type: 'resign', correlationId: `s${i}`, scope, fenceToken: fence });
  }
  const fsm = new LeadershipFsm();
  const elapsedMs = timeApply(fsm, log.entries);
  return {
    commandsPerSecond: Math.round(log.entries.length / (elapsedMs / 1000)),
    commands: log.entries.length,
    elapsedMs: Math.round(elapsedMs),
  };
}

/** oldSpaceUsedBytes is the old generation's size in use: what young collections promoted grows it. */
function oldSpaceUsedBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
}

/**
 * sustainedRenewals renews every lease in `fences` RENEW_ROUNDS times, in entries of RENEW_BATCH
 * leases, each followed by `deadlineLowerBoundMs()` as on a leader, and reports the collections that ran
 * meanwhile (entries are encoded before the clock starts). A renewal that leaves objects behind
 * (anything the state keeps until the lease's next renewal) makes every scavenge copy and promote
 * them: at 100,000 leases those were the nodes' longest event-loop stalls.
 */
async function sustainedRenewals(
  fsm: LeadershipFsm,
  log: LogBuilder,
  fences: readonly { scope: string; fenceToken: bigint }[],
): Promise<Record<string, number>> {
  for (let round = 0; round < RENEW_ROUNDS; round++) {
    log.stampMs += 3_000;
    for (let at = 0; at < fences.length; at += RENEW_BATCH) {
      log.add({
        type: 'renew',
        correlationId: `s${round}.${at}`,
        leases: fences.slice(at, at + RENEW_BATCH),
      });
    }
  }
  const entries = log.entries.splice(0);
  gc?.();
  const scavengesMs: number[] = [];
  let fullGcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === 1) scavengesMs.push(e.duration);
      else fullGcMs += e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const oldBefore = oldSpaceUsedBytes();
  // As on the leader, whose expiry timer is re-armed after every applied entry at the index's
  // lower bound (O(1), no move: the lazy slots are re-keyed by the due scans, measured below).
  const ms = timeApply(fsm, entries, () => fsm.deadlineLowerBoundMs());
  const oldGrowth = oldSpaceUsedBytes() - oldBefore;
  // GC entries are delivered after the turn that ran the collections.
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  const renewals = fences.length * RENEW_ROUNDS;
  return {
    renewals,
    renewalsPerSecond: Math.round(renewals / (ms / 1000)),
    scavenges: scavengesMs.length,
    scavengeMsTotal: round(scavengesMs.reduce((a, b) => a + b, 0)),
    scavengeMsMax: round(Math.max(0, ...scavengesMs)),
    fullGcMsTotal: round(fullGcMs),
    oldSpaceGrowthBytesPerRenewal: Math.round(oldGrowth / renewals),
  };
}

/** DUE_SCAN_MS is how long (entry stamps) the due-scan phase runs. */
const DUE_SCAN_MS = 30_000;

/**
 * dueScan runs the leader's expiry scan as it runs at 100,000 leases (the workload of
 * due-scan-workload.ts): each step's renewals go in one renew entry, and `expiredLeases` looks
 * for due leases, finding none but re-keying the renewed leases whose old deadlines came up. It
 * answers the scans' time per second of entry time (the renews' apply and the sweeps are not
 * counted).
 */
function dueScan(
  fsm: LeadershipFsm,
  log: LogBuilder,
  fences: readonly { scope: string; fenceToken: bigint }[],
): { msPerSecond: number; scans: number; found: number } {
  const cold = new ColdSweep();
  let scanMs = 0;
  let scans = 0;
  let found = 0;
  const startMs = log.stampMs;
  for (const { tMs, renewed } of dueScanSteps(fences.length, DUE_SCAN_MS)) {
    log.stampMs = startMs + tMs;
    log.add({ type: 'renew', correlationId: `d${tMs}`, leases: renewed.map((i) => fences[i]!) });
    timeApply(fsm, log.entries.splice(0));
    cold.sweep();
    const began = performance.now();
    found += fsm.expiredLeases(log.stampMs, 4_096).length;
    scanMs += performance.now() - began;
    scans++;
  }
  return { msPerSecond: round(scanMs / (DUE_SCAN_MS / 1000)), scans, found };
}

async function main(): Promise<void> {
  const mix = benchMix();

  // 100,000 live leases, granted one per entry.
  const heapBeforeBytes = heapUsedBytes();
  const log = new LogBuilder();
  const fences: { scope: string; fenceToken: bigint }[] = [];
  for (let i = 0; i < LIVE_LEASES; i++) {
    const scope = `shard/ns-${i % 100}/${i}`;
    const fence = log.add({
      type: 'acquire',
      correlationId: `g${i}`,
      scope,
      candidateId: `node-${i % 13}`,
      metadata: 'host-a:7000',
      leaseTtlMs: TTL_MS,
    });
    fences.push({ scope, fenceToken: BigInt(fence) });
  }
  const grantEntries = log.entries.splice(0);
  const heapWithLogBytes = heapUsedBytes();
  const fsm = new LeadershipFsm();
  const grantMs = timeApply(fsm, grantEntries);
  grantEntries.length = 0;
  const heapAfterBytes = heapUsedBytes();
  const bytesPerLease = Math.round((heapAfterBytes - heapWithLogBytes) / LIVE_LEASES);

  // Renewals in batches, as the leader folds them into one entry per group commit.
  for (let at = 0; at < LIVE_LEASES; at += RENEW_BATCH) {
    log.add({ type: 'renew', correlationId: `kb${at}`, leases: fences.slice(at, at + RENEW_BATCH) });
  }
  const renewMs = timeApply(fsm, log.entries.splice(0));
  const sustained = await sustainedRenewals(fsm, log, fences);
  const scan = dueScan(fsm, log, fences);

  const snapshot = fsm.snapshot();
  const restored = LeadershipFsm.restore(snapshot);
  if (Buffer.compare(Buffer.from(restored.snapshot()), Buffer.from(snapshot)) !== 0) {
    throw new Error('restored state differs from the original');
  }
  const snapshotTimes = measure(() => fsm.snapshot());
  const restoreTimes = measure(() => LeadershipFsm.restore(snapshot));
  const due = restored.expiredLeases(log.stampMs + TTL_MS, 4_096);
  const dueTimes = measure(() => restored.expiredLeases(log.stampMs + TTL_MS, 4_096));

  const results = {
    node: process.version,
    gcExposed: gc !== undefined,
    mix: { ...mix, cycle: 'acquire, 3 x renew (1 lease), resign' },
    liveLeases: LIVE_LEASES,
    grantsPerSecond: Math.round(LIVE_LEASES / (grantMs / 1000)),
    renewBatch: RENEW_BATCH,
    leaseRenewalsPerSecond: Math.round(LIVE_LEASES / (renewMs / 1000)),
    sustainedRenewals: { rounds: RENEW_ROUNDS, ...sustained },
    snapshotBytes: snapshot.length,
    snapshotBytesPerLease: Math.round(snapshot.length / LIVE_LEASES),
    snapshotMs: snapshotTimes,
    restoreMs: restoreTimes,
    expiredLeases4096Ms: dueTimes,
    dueScan: { renewEveryMs: DUE_RENEW_EVERY_MS, stepMs: DUE_STEP_MS, coldBytes: COLD_BYTES, ...scan },
    expiredLeasesFound: due.length,
    heapBytesPerLease: bytesPerLease,
    heapBeforeMiB: Math.round(heapBeforeBytes / 2 ** 20),
  };
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'fsm.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    [
      `leadership-fsm bench (${process.version}${gc === undefined ? ', no --expose-gc: memory is rough' : ''})`,
      `  mix (acquire/renew/resign): ${results.mix.commandsPerSecond.toLocaleString('en-US')} commands/s over ${mix.commands.toLocaleString('en-US')}`,
      `  grants: ${results.grantsPerSecond.toLocaleString('en-US')}/s; renewals in batches of ${RENEW_BATCH}: ${results.leaseRenewalsPerSecond.toLocaleString('en-US')} leases/s`,
      `  ${LIVE_LEASES.toLocaleString('en-US')} live leases: snapshot ${(snapshot.length / 2 ** 20).toFixed(1)} MiB (${results.snapshotBytesPerLease} B/lease) in ${snapshotTimes.medianMs} ms (first ${snapshotTimes.firstMs}), restore ${restoreTimes.medianMs} ms (first ${restoreTimes.firstMs})`,
      `  sustained: every lease renewed ${RENEW_ROUNDS} times, ${sustained['renewalsPerSecond']!.toLocaleString('en-US')} renewals/s; ${sustained['scavenges']} scavenges, ${sustained['scavengeMsTotal']} ms (max ${sustained['scavengeMsMax']}), full GCs ${sustained['fullGcMsTotal']} ms; old generation +${sustained['oldSpaceGrowthBytesPerRenewal']} B/renewal`,
      `  heap per lease: ${bytesPerLease} B; expiredLeases(4096) ${dueTimes.medianMs} ms (first ${dueTimes.firstMs})`,
      `  due scan (every ${DUE_STEP_MS} ms, each lease renewed every ${DUE_RENEW_EVERY_MS} ms, caches swept): ${scan.msPerSecond} ms per second over ${scan.scans} scans`,
      `  written to bench/results/fsm.json`,
    ].join('\n'),
  );
}

void main();
