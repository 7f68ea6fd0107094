/**
 * A chaos workload worker: one SDK client that takes a seeded set of scopes, writes through the
 * fenced store while it holds them, and records a client history (chaos/README.md, "Workload").
 *
 *   node -r @swc-node/register chaos/src/workload/worker.ts --id w1 --endpoints h:p,h:p,h:p
 *     --scopes a,b --store http://127.0.0.1:<port> --out <dir> --seed N --duration-ms N
 *     --ttl-ms N [--token-file F] [--mode mixed|campaign|acquire] [--stop-before-write-at-ms N]
 *
 * It writes `<dir>/client-<id>.jsonl`, prints `{"ready":true}` once a node answered, and exits 0
 * after the duration or on SIGTERM/SIGINT (it resigns what it holds, closes the client, and
 * records the renewals still in flight). Exit 2: bad arguments; 1: the cluster never answered.
 */
import { mkdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RenewalEvent } from '@omnirelay/client-sdk';
import { createClient } from '@omnirelay/client-sdk';
import { Mulberry32 } from '@omnirelay/raft';
import { argsOrExit, exitBadArguments } from './command-line';
import { HistoryWriter } from './history-writer';
import { KernelClock } from './kernel-clock';
import { runScope } from './scope-worker';
import { parseWorkerArgs } from './worker-args';

const EXIT_NO_CLUSTER = 1;
/** READY_TRIES_MAX bounds the status calls made while waiting for the cluster to answer. */
const READY_TRIES_MAX = 100;

const args = argsOrExit('worker', parseWorkerArgs(process.argv.slice(2)));
const startedMs = performance.now();
/** readToken reads --token-file (trimmed), or exits EXIT_BAD_ARGUMENTS naming the file. */
function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    return exitBadArguments('worker', `--token-file ${file}: ${(e as Error).message}`);
  }
}

const token = args.tokenFile === undefined ? undefined : readToken(args.tokenFile);
mkdirSync(args.out, { recursive: true });
/** kernelClock opens /proc/timer_list, or exits EXIT_BAD_ARGUMENTS when it cannot (not root). */
function kernelClock(): KernelClock {
  try {
    return new KernelClock();
  } catch (e) {
    return exitBadArguments('worker', `--history-clock kernel: ${(e as Error).message}`);
  }
}

const clock = args.historyClock === 'kernel' ? kernelClock() : undefined;
const history = new HistoryWriter(
  join(args.out, `client-${args.id}.jsonl`),
  clock === undefined ? undefined : () => clock.now(),
);
let historyOpen = true;

/** onRenewal records each automatic renewal under `<id>/keepalive/<scope>/<fence>` (one lease, one call at a time). */
function onRenewal(event: RenewalEvent): void {
  if (!historyOpen) return;
  const name = `${args.id}/keepalive/${event.scope}/${event.fence}`;
  const fence = event.fence.toString();
  if (event.type === 'sent') history.invoke(name, 'renew', event.scope, { fence });
  else if (event.type === 'renewed') history.complete(name, 'ok');
  else if (event.type === 'refused') history.complete(name, 'fail', { code: event.code ?? 'NOT_RENEWED' });
  else history.complete(name, 'info', { code: event.code ?? 'UNAVAILABLE' });
}

const client = createClient({
  endpoints: args.endpoints,
  candidateId: args.id,
  onRenewal: (event) => {
    try {
      onRenewal(event);
    } catch (e) {
      process.stderr.write(`worker ${args.id}: ${(e as Error).message}\n`);
    }
  },
  ...(token === undefined ? {} : { token }),
});

const stop = new AbortController();
const rng = new Mulberry32(args.seed);
let stopped = false;

/** beforeWrite stops the process once, at the first write after stopBeforeWriteAtMs (a fault for tests). */
function beforeWrite(): void {
  const at = args.stopBeforeWriteAtMs;
  if (stopped || at === undefined || performance.now() - startedMs < at) return;
  stopped = true;
  writeSync(1, `${JSON.stringify({ stopping: true })}\n`);
  process.kill(process.pid, 'SIGSTOP');
}

async function main(): Promise<void> {
  let ready = false;
  for (let i = 0; i < READY_TRIES_MAX && !ready && !stop.signal.aborted; i++) {
    ready = await client.status().then(
      () => true,
      () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
    );
  }
  if (!ready) {
    process.stderr.write(`worker ${args.id}: no node of ${args.endpoints.join(',')} answered\n`);
    client.close();
    process.exit(EXIT_NO_CLUSTER);
  }
  writeSync(1, `${JSON.stringify({ ready: true })}\n`);
  setTimeout(() => stop.abort(), args.durationMs).unref();
  // Seeded choice of scopes: a shuffled, non-empty prefix; each scope gets its own generator, so
  // its choices do not depend on how the scopes' loops interleave.
  const scopes = [...args.scopes];
  for (let i = scopes.length - 1; i > 0; i--) {
    const j = rng.intBelow(i + 1);
    [scopes[i], scopes[j]] = [scopes[j]!, scopes[i]!];
  }
  const chosen = scopes.slice(0, 1 + rng.intBelow(scopes.length));
  const context = {
    id: args.id,
    client,
    history,
    storeUrl: `${args.store}/write`,
    ttlMs: args.ttlMs,
    mode: args.mode,
    stop: stop.signal,
    beforeWrite,
  };
  await Promise.all(chosen.map((scope) => runScope(context, scope, new Mulberry32(rng.nextUint32()))));
  client.close();
  historyOpen = false;
  history.close();
  process.exit(0);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop.abort());
void main();
