import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const repoRoot = join(__dirname, '..');

/** A probe: code placed in a source folder, and the rule we expect to fire there (or none). */
interface Probe {
  readonly title: string;
  readonly dir: string;
  readonly code: string;
  readonly expectedRule: string | null;
}

const impureSnippets: Array<[string, string, string]> = [
  ['a timer', 'setTimeout(() => undefined, 1);\nexport {};\n', 'no-restricted-globals'],
  ['the wall clock', 'export const now = Date.now();\n', 'no-restricted-globals'],
  ['Math.random', 'export const r = Math.random();\n', 'no-restricted-properties'],
  [
    'a node: import',
    "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n",
    'no-restricted-imports',
  ],
  [
    'a bare builtin import',
    "import { readFileSync } from 'fs';\nexport const f = readFileSync;\n",
    'no-restricted-imports',
  ],
  ['level', "import { Level } from 'level';\nexport const l = Level;\n", 'no-restricted-imports'],
  ['grpc', "import * as grpc from '@grpc/grpc-js';\nexport const g = grpc;\n", 'no-restricted-imports'],
  ['a promise', 'export const p = Promise.resolve(1);\n', 'no-restricted-globals'],
  [
    'an async function',
    'export async function f(): Promise<number> {\n  return 1;\n}\n',
    'no-restricted-syntax',
  ],
];

const probes: Probe[] = [
  ...['packages/raft/src/core', 'packages/leadership-fsm/src'].flatMap((dir) =>
    impureSnippets.map(([what, code, rule]) => ({
      title: `refuses ${what} in ${dir}`,
      dir,
      code,
      expectedRule: rule,
    })),
  ),
  {
    title: 'accepts plain deterministic code in the raft core',
    dir: 'packages/raft/src/core',
    code: 'export const twice = (n: number): number => n * 2;\n',
    expectedRule: null,
  },
  {
    title: 'lets the server use I/O',
    dir: 'packages/server/src',
    code: "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n",
    expectedRule: null,
  },
  {
    title: 'refuses an import of the raft package from the leadership FSM',
    dir: 'packages/leadership-fsm/src',
    code: "export * from '@omnirelay/raft';\n",
    expectedRule: 'no-restricted-imports',
  },
  {
    title: 'refuses an import of the server from the client SDK',
    dir: 'packages/client-sdk/src',
    code: "export * from '@omnirelay/server';\n",
    expectedRule: 'no-restricted-imports',
  },
  {
    title: 'refuses a deep import into another package',
    dir: 'packages/server/src',
    code: "export * from '@omnirelay/raft/src/core/index';\n",
    expectedRule: 'no-restricted-imports',
  },
  {
    title: 'refuses an import of the storage layer from the raft core',
    dir: 'packages/raft/src/core',
    code: "export * from '../storage/index';\n",
    expectedRule: 'no-restricted-imports',
  },
  {
    title: 'refuses an import of the node runtime from the storage layer',
    dir: 'packages/raft/src/storage',
    code: "export * from '../node/index';\n",
    expectedRule: 'no-restricted-imports',
  },
  {
    title: 'accepts the storage layer importing the core',
    dir: 'packages/raft/src/storage',
    code: "export { MemoryStorage } from '../core/index';\n",
    expectedRule: null,
  },
  {
    title: 'accepts the server importing the raft package',
    dir: 'packages/server/src',
    code: "export * from '@omnirelay/raft';\n",
    expectedRule: null,
  },
  {
    title: 'accepts the server importing the certs package',
    dir: 'packages/server/src',
    code: "export * from '@omnirelay/certs';\n",
    expectedRule: null,
  },
  {
    title: 'refuses an import of the CLI from the server',
    dir: 'packages/server/src',
    code: "export * from '@omnirelay/cli';\n",
    expectedRule: 'no-restricted-imports',
  },
  {
    title: 'refuses an import of the CLI from the certs package',
    dir: 'packages/certs/src',
    code: "export * from '@omnirelay/cli';\n",
    expectedRule: 'no-restricted-imports',
  },
  {
    title: 'refuses a focused test',
    dir: 'packages/raft/test',
    code: "describe.only('x', () => undefined);\n",
    expectedRule: 'no-restricted-properties',
  },
];

/** rulesByFile maps each probe file to the rule ids ESLint reported for it. */
const rulesByFile = new Map<string, string[]>();
const files = probes.map((p) => join(repoRoot, p.dir, `__lint_probe_${randomBytes(4).toString('hex')}.ts`));

beforeAll(() => {
  try {
    probes.forEach((p, i) => writeFileSync(files[i]!, p.code));
    // One ESLint run for all probes: type-aware linting costs seconds to start. The real CLI runs
    // with the real config, exactly as `npm run lint` would.
    const run = spawnSync(
      process.execPath,
      [
        join(repoRoot, 'node_modules/eslint/bin/eslint.js'),
        '--format',
        'json',
        ...files.map((f) => relative(repoRoot, f)),
      ],
      { cwd: repoRoot, encoding: 'utf8', timeout: 110_000, maxBuffer: 64 * 1024 * 1024 },
    );
    if (run.status !== 0 && run.status !== 1) {
      throw new Error(`eslint failed (status ${String(run.status)}): ${run.stderr}`);
    }
    const results = JSON.parse(run.stdout) as Array<{
      filePath: string;
      messages: Array<{ ruleId: string | null; message: string }>;
    }>;
    for (const r of results) {
      rulesByFile.set(
        r.filePath,
        r.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`),
      );
    }
  } finally {
    files.forEach((f) => rmSync(f, { force: true }));
  }
}, 120_000);

describe('the lint rules', () => {
  it.each(probes.map((p, i) => [p.title, i] as const))('%s', (_title, i) => {
    const probe = probes[i]!;
    const rules = rulesByFile.get(files[i]!);
    expect(rules).toBeDefined();
    if (probe.expectedRule === null) {
      expect(rules).toEqual([]);
    } else {
      expect(rules).toContain(probe.expectedRule);
    }
  });
});
