/**
 * `npm run bench [-- name... [--option...]]`: runs the named benchmarks (default: all but scale and crosscluster), each writing
 * JSON under bench/results/. Names: fsm, raft, compare, hops, edge, scale, crosscluster. Everything from the first argument that
 * starts with `--` on is passed to each bench (e.g. `npm run bench -- compare --runs 1`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHES: Record<string, string> = {
  fsm: 'fsm/fsm-bench.ts',
  raft: 'raft/raft-bench.ts',
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
for (const name of asked.length > 0 ? asked : Object.keys(BENCHES).filter((n) => !ON_REQUEST_ONLY.has(n))) {
  process.stderr.write(`\n== bench ${name}\n`);
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '-r', '@swc-node/register', join(__dirname, BENCHES[name]!), ...options],
    {
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}
