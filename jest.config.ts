import { join } from 'node:path';
import type { Config } from 'jest';

/** The workspace packages; each is a Jest project whose tests live in `test/` mirroring `src/`. */
const packages = ['raft', 'leadership-fsm', 'certs', 'server', 'client-sdk', 'cli', 'snapshot-file'] as const;

const transform: Config['transform'] = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};

/**
 * Child processes that tests start (server nodes, crash writers, example programs) run from
 * source through @swc-node/register; tsconfig.check.json maps @omnirelay/* to each package's
 * src, so they too need no build step (children inherit this environment).
 */
process.env['SWC_NODE_PROJECT'] ??= join(__dirname, 'tsconfig.check.json');

/** Tests import sibling packages from source, so no build step is needed before `npm test`. */
const moduleNameMapper: Record<string, string> = Object.fromEntries(
  packages.map((name) => [`^@omnirelay/${name}$`, `<rootDir>/packages/${name}/src/index.ts`]),
);

const config: Config = {
  /**
   * Test files run in a worker process that is replaced once a file leaves it holding more than
   * this much heap. Without it, a 2-core machine (one worker) runs every file in Jest's own
   * process, whose heap grew to 1.4 GB by the end of the run (each file's module registry, and
   * what a file's gRPC, LevelDB and cluster helpers keep, stayed reachable for a while), and every
   * later file ran slower on that heap: two full runs, one after the other, took 1,358 s in band
   * and 1,244 s with this limit (the simulator 84 → 75 s, the compaction test 88 → 75 s). The limit
   * forces a worker even with one (Jest runs in its own process only when no limit is set).
   */
  workerIdleMemoryLimit: '512MB',
  projects: [
    ...packages.map((name) => ({
      displayName: name,
      rootDir: __dirname,
      roots: [`<rootDir>/packages/${name}`],
      testMatch: [`<rootDir>/packages/${name}/test/**/*.test.ts`],
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
    })),
    {
      displayName: 'chaos',
      rootDir: __dirname,
      roots: ['<rootDir>/chaos'],
      testMatch: ['<rootDir>/chaos/test/**/*.test.ts'],
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
    },
    {
      // The Helm chart: helm lint and template with the pinned helm, schemas, rendered-config runs.
      displayName: 'deploy',
      rootDir: __dirname,
      roots: ['<rootDir>/deploy'],
      testMatch: ['<rootDir>/deploy/**/test/**/*.test.ts'],
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
    },
    {
      displayName: 'repo',
      rootDir: __dirname,
      roots: ['<rootDir>/test'],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testEnvironment: 'node',
      transform,
      moduleNameMapper,
    },
  ],
};

export default config;
