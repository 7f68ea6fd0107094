/**
 * calls-ab compares the SDK's two ways of making unary calls on one cluster, in one invocation:
 * over one Leadership.Calls stream per node (multiplexCalls, the default) and as one gRPC call
 * each (multiplexCalls: false). One fresh 3-member cluster (as compare's); two clients of it, one
 * of each kind; an unreported warm-up through both; then, per round, workload (a) — acquire →
 * release cycles at each concurrency — through each client in turn, the order alternating by
 * round so the shared machine's noise falls on both. Prints cycles/s and acquire/release p50 per round and kind, with the ratio Calls / own,
 * and writes bench/results/calls-ab.json.
 *
 *   node -r @swc-node/register bench/compare/calls-ab.ts [--rounds N] [--measure-ms MS]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { OmniRelayClient } from '@omnirelay/client-sdk';
import { createClient } from '@omnirelay/client-sdk';
import { intOption } from '../support/options';
import { progress } from '../support/stats';
import { installExitHandler } from './children';
import { OmniRelayTarget, acquireHeld } from './omnirelay-target';
import type { Target } from './target';
import type { CyclesResult } from './workload-cycles';
import { runCycles } from './workload-cycles';

const CONCURRENCIES = [1, 16, 128] as const;
const KINDS = ['calls', 'own'] as const;
type Kind = (typeof KINDS)[number];

/** cyclesThrough is the part of a Target that workload (a) uses, through `client`. */
function cyclesThrough(client: OmniRelayClient, name: string): Target {
  return {
    name,
    acquire: (scope: string, ttlMs: number) => acquireHeld(client, scope, ttlMs),
  } as unknown as Target;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const rounds = intOption(argv, '--rounds', 2, 1, 20);
  const measureMs = intOption(argv, '--measure-ms', 5000, 500, 60_000);
  installExitHandler();
  const target = new OmniRelayTarget();
  await target.start();
  const endpoints = target.grpcEndpoints();
  const clients: Record<Kind, OmniRelayClient> = {
    calls: createClient({ endpoints, callTimeoutMs: 10_000, candidateId: 'ab-calls' }),
    own: createClient({ endpoints, callTimeoutMs: 10_000, candidateId: 'ab-own', multiplexCalls: false }),
  };
  const results: Array<{ round: number; kind: Kind; cycles: CyclesResult[] }> = [];
  try {
    // Unreported warm-up of both (as compare's 5 s): the first measured kind would otherwise run on a cold cluster.
    for (const kind of KINDS) {
      await runCycles(cyclesThrough(clients[kind], kind), {
        concurrency: 16,
        warmupMs: 0,
        measureMs: 3000,
        ttlMs: 30_000,
        scopePrefix: `ab/warm/${kind}`,
        report: false,
      });
    }
    for (let round = 1; round <= rounds; round++) {
      const order: readonly Kind[] = round % 2 === 1 ? KINDS : [...KINDS].reverse();
      for (const kind of order) {
        const cycles: CyclesResult[] = [];
        for (const concurrency of CONCURRENCIES) {
          cycles.push(
            await runCycles(cyclesThrough(clients[kind], kind), {
              concurrency,
              warmupMs: 1000,
              measureMs,
              ttlMs: 30_000,
              scopePrefix: `ab/${round}/${kind}/${concurrency}`,
              report: true,
            }),
          );
        }
        results.push({ round, kind, cycles });
      }
    }
  } finally {
    for (const c of Object.values(clients)) c.close();
    await target.stop();
  }
  const lines = [
    '| round | c | Calls cycles/s | own cycles/s | ratio | Calls acquire p50 ms | own acquire p50 ms | ratio | Calls release p50 ms | own release p50 ms | ratio |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (let round = 1; round <= rounds; round++) {
    const of = (kind: Kind): CyclesResult[] =>
      results.find((r) => r.round === round && r.kind === kind)!.cycles;
    CONCURRENCIES.forEach((c, i) => {
      const a = of('calls')[i]!;
      const b = of('own')[i]!;
      const ratio = (x: number, y: number): string => (x / y).toFixed(2);
      lines.push(
        `| ${round} | ${c} | ${a.cyclesPerSecond.toFixed(0)} | ${b.cyclesPerSecond.toFixed(0)} | ${ratio(a.cyclesPerSecond, b.cyclesPerSecond)} | ` +
          `${a.acquireMs.p50.toFixed(2)} | ${b.acquireMs.p50.toFixed(2)} | ${ratio(a.acquireMs.p50, b.acquireMs.p50)} | ` +
          `${a.releaseMs.p50.toFixed(2)} | ${b.releaseMs.p50.toFixed(2)} | ${ratio(a.releaseMs.p50, b.releaseMs.p50)} |`,
      );
    });
  }
  process.stdout.write(
    `${lines.join('\n')}\nload average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'calls-ab.json');
  writeFileSync(
    file,
    `${JSON.stringify({ bench: 'calls-ab', rounds, measureMs, results, at: new Date().toISOString() }, null, 2)}\n`,
  );
  progress(`written ${file}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`calls-ab: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
