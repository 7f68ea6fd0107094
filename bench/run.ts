/**
 * `npm run bench [-- name...]`: runs the named benchmarks (default: all), each writing JSON under
 * bench/results/. Names: fsm, raft.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHES: Record<string, string> = {
  fsm: 'fsm/fsm-bench.ts',
  raft: 'raft/raft-bench.ts',
};

const asked = process.argv.slice(2);
const unknown = asked.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown bench ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}\n`,
  );
  process.exit(2);
}
for (const name of asked.length > 0 ? asked : Object.keys(BENCHES)) {
  process.stderr.write(`\n== bench ${name}\n`);
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '-r', '@swc-node/register', join(__dirname, BENCHES[name]!)],
    {
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}
