import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_NODE_ENV } from '@omnirelay/server';
import { CleanupRegistry } from '../../src/harness/cleanup';
import { ChaosCluster, serverEnv } from '../../src/runner/cluster';
import { Topology } from '../../src/runner/topology';

/** arenaMaxOf is the MALLOC_ARENA_MAX process `pid` started with, as glibc saw it (Linux /proc). */
function arenaMaxOf(pid: number): string | undefined {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((e) => e.startsWith('MALLOC_ARENA_MAX='));
  return entry?.slice('MALLOC_ARENA_MAX='.length);
}

describe('serverEnv', () => {
  it("is SERVER_NODE_ENV, with each variable's explicit value from the environment where it has one", () => {
    expect(SERVER_NODE_ENV).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(serverEnv({})).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(serverEnv({ MALLOC_ARENA_MAX: '4', OTHER: 'x' })).toEqual({ MALLOC_ARENA_MAX: '4' });
  });
});

describe("a ChaosCluster node's environment", () => {
  it('has MALLOC_ARENA_MAX=2 when the harness has none, the harness value when it has one', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'chaos-env-'));
    mkdirSync(join(runDir, 'logs'));
    const cleanup = new CleanupRegistry();
    const inherited = process.env['MALLOC_ARENA_MAX'];
    try {
      const topology = await Topology.create(['n1'], false, runDir, cleanup);
      const started = async (): Promise<string | undefined> => {
        // A new cluster each time: a node's spec, environment included, is made once per cluster.
        const cluster = new ChaosCluster(topology, ['n1'], {
          runDir,
          electionTimeoutMs: 1000,
          build: 'real',
          clocks: new Map(),
          disks: new Map(),
          cleanup,
        });
        cluster.start('n1');
        // spawn returns once the child has exec'd, so /proc shows the server's own environment.
        const value = arenaMaxOf(cluster.process('n1').pid!);
        await cluster.process('n1').kill();
        return value;
      };
      delete process.env['MALLOC_ARENA_MAX'];
      expect(await started()).toBe('2');
      process.env['MALLOC_ARENA_MAX'] = '4';
      expect(await started()).toBe('4');
    } finally {
      if (inherited === undefined) delete process.env['MALLOC_ARENA_MAX'];
      else process.env['MALLOC_ARENA_MAX'] = inherited;
      expect(await cleanup.runAll()).toEqual([]);
      rmSync(runDir, { recursive: true, force: true });
    }
  }, 30_000);
});
