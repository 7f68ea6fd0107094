/**
 * `npm run bench [-- name... [--option...]]`: runs the named benchmarks (default: all but scale and crosscluster), each writing
 * JSON under bench/results/. Names: fsm, raft, storage, compare, hops, edge, scale, crosscluster. Everything from the first argument that
 * starts with `--` on is passed to each bench (e.g. `npm run bench -- compare --runs 1`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';

const BENCHES: Record<string, string> = {
  fsm: 'fsm/fsm-bench.ts',
  raft: 'raft/raft-bench.ts',
  storage: 'storage/snapshot-write-bench.ts',
  compare: 'compare/compare-bench.ts',
  hops: 'hops/hops-bench.ts',
  edge: 'edge/edge-bench.ts',
  scale: 'scale/scale-bench.ts',
  crosscluster: 'crosscluster/crosscluster-bench.ts',
};

const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const asked = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
const unknown = asked.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown bench ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}\n`,
  );
  process.exit(2);
}
// scale runs only when named: it holds 100,000 leases for minutes; crosscluster runs six nodes and fails them over.
const ON_REQUEST_ONLY = new Set(['scale', 'crosscluster']);

/**
 * A signal to this runner goes on to the bench running now, whose own handler stops every
 * process it started (children.ts); the runner then ends with the bench. Without this, a SIGTERM
 * to `npm run bench` (a CI job's timeout, `kill`) ended only the runner and left the bench and its
 * clusters running as orphans.
 */
let running: ChildProcess | undefined;
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    stopping = true;
    if (running?.pid !== undefined) running.kill(signal);
    else process.exit(130);
  });
}

/** runBench runs one bench in its own process and resolves to its exit status. */
function runBench(name: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '-r', '@swc-node/register', join(__dirname, BENCHES[name]!), ...options],
      { stdio: 'inherit' },
    );
    running = child;
    child.once('error', (e) => {
      process.stderr.write(`bench ${name} did not start: ${e.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      running = undefined;
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}

async function main(): Promise<void> {
  for (const name of asked.length > 0 ? asked : Object.keys(BENCHES).filter((n) => !ON_REQUEST_ONLY.has(n))) {
    process.stderr.write(`\n== bench ${name}\n`);
    const status = await runBench(name);
    if (status !== 0 || stopping) process.exit(status === 0 ? 130 : status);
  }
}

void main();
