/**
 * The simulator's command line: `npm run sim -- --seeds N [--from S] [--nodes K]`. It plays
 * seeds S..S+N-1 (node count K, or 3/5/7 rotating by seed), prints progress to stderr every few
 * seconds, then a summary; it exits 1 after printing every failing seed with its trace.
 */
import { parseArgs } from 'node:util';
import type { SimResult } from './simulator';
import { SimulationFailure, runSimulation } from './simulator';
import { SIM_DEFAULTS, nodesForSeed } from './sim-options';
import { addStats, emptyStats } from './sim-stats';

/** PROGRESS_INTERVAL_MS is how often progress is printed. */
const PROGRESS_INTERVAL_MS = 2000;
/** FAILURES_PRINTED_MAX bounds how many failing seeds print their full trace. */
const FAILURES_PRINTED_MAX = 5;

function parseIntArg(
  name: string,
  value: string | undefined,
  fallback: number | undefined,
): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '100' },
      from: { type: 'string', default: '1' },
      nodes: { type: 'string' },
      'fault-ticks': { type: 'string' },
      'disk-loss': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const seeds = parseIntArg('seeds', values.seeds, 100)!;
  const from = parseIntArg('from', values.from, 1)!;
  const nodes = parseIntArg('nodes', values.nodes, undefined);
  const faultTicks = parseIntArg('fault-ticks', values['fault-ticks'], SIM_DEFAULTS.faultTicks)!;
  const total = emptyStats();
  const failures: SimulationFailure[] = [];
  const started = performance.now();
  let lastProgress = started;
  let livenessWorst: SimResult | undefined;
  for (let k = 0; k < seeds; k++) {
    const seed = from + k;
    try {
      const result = runSimulation({
        ...SIM_DEFAULTS,
        seed,
        nodes: nodes ?? nodesForSeed(seed),
        faultTicks,
        diskLoss: values['disk-loss'],
      });
      addStats(total, result.stats);
      if (livenessWorst === undefined || result.stats.livenessTicks > livenessWorst.stats.livenessTicks) {
        livenessWorst = result;
      }
    } catch (e: unknown) {
      if (!(e instanceof SimulationFailure)) throw e;
      failures.push(e);
      process.stderr.write(`FAIL seed ${e.seed} (${e.nodes} nodes): ${e.reason.split('\n')[0]!}\n`);
    }
    const now = performance.now();
    if (!values.quiet && now - lastProgress >= PROGRESS_INTERVAL_MS) {
      lastProgress = now;
      const rate = ((k + 1) / ((now - started) / 1000)).toFixed(1);
      process.stderr.write(`… ${k + 1}/${seeds} seeds, ${failures.length} failed, ${rate} schedules/s\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  for (const f of failures.slice(0, FAILURES_PRINTED_MAX)) process.stdout.write(`\n${f.message}\n`);
  const s = total;
  process.stdout.write(
    [
      '',
      `seeds run: ${seeds} (from ${from}), failures: ${failures.length}${failures.length > 0 ? ` [${failures.map((f) => f.seed).join(', ')}]` : ''}`,
      `time: ${seconds.toFixed(1)} s, ${(seeds / seconds).toFixed(1)} schedules/s, ${Math.round(s.events / seconds)} events/s`,
      `proposals: ${s.proposalsAccepted} accepted (${s.proposalsCommitted} committed, ${s.proposalsFailed} failed), ${s.proposalsRefused} refused`,
      `reads: ${s.readsAccepted} accepted, ${s.readsServed} served, ${s.readsRefused} refused`,
      `config changes: ${s.configChangesAccepted} accepted, ${s.configChangesRefused} refused; transfers: ${s.transfersAccepted} accepted, ${s.transfersRefused} refused`,
      `faults: ${s.crashes} crashes, ${s.restarts} restarts, ${s.pauses} pauses, ${s.partitions} partitions, ${s.oneWayCuts} one-way cuts, leaderUnreachable ${s.unreachableTrue} true / ${s.unreachableSpurious} spurious, forged messages ${s.forgedSent} sent / ${s.forgedRefused} refused`,
      `messages: ${s.messagesSent} sent, ${s.messagesDropped} dropped, ${s.messagesDuplicated} duplicated, ${s.messagesHeld} held back`,
      `snapshots: ${s.snapshotsTaken} taken, ${s.snapshotsInstalled} installed; leader terms: ${s.leaderTerms}`,
      `liveness: worst ${s.livenessTicks} ticks${livenessWorst === undefined ? '' : ` (seed ${livenessWorst.seed}, ${livenessWorst.nodes} nodes)`}`,
      '',
    ].join('\n'),
  );
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = main();
