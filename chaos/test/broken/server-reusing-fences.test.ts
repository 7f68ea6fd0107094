import { join } from 'node:path';
import { createClient } from '@omnirelay/client-sdk';
import { exited, startScript } from '../helpers/processes';
import { checkedWorkload, useChaosCluster } from '../helpers/workload-run';

const BROKEN = join(__dirname, '../../src/broken/server-reusing-fences.ts');

describe('chaos/src/broken/server-reusing-fences.ts on a real 3-node loopback cluster', () => {
  // Preloaded before the real entry, as the file's doc comment says.
  const { cluster, root, started } = useChaosCluster('chaos-broken-fences', [
    '-r',
    '@swc-node/register',
    '-r',
    BROKEN,
  ]);

  it('still works as a cluster, but a new holder gets the previous fence', async () => {
    await cluster().waitForLeader();
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const a = createClient({ endpoints, candidateId: 'a' });
    const b = createClient({ endpoints, candidateId: 'b' });
    try {
      const first = (await a.acquire('probe/1', { ttlMs: 2000 }))!;
      await first.renew();
      expect((await a.validateFence('probe/1', first.fence)).valid).toBe(true);
      await first.resign();
      const second = (await b.acquire('probe/1', { ttlMs: 2000 }))!;
      await second.renew();
      expect(second.candidateId).toBe('b');
      expect(second.fence).toBe(first.fence);
      await second.resign();
    } finally {
      a.close();
      b.close();
    }
  });

  it('runs as the server entry too, with the same arguments as main.ts', async () => {
    const help = startScript('chaos/src/broken/server-reusing-fences.ts', ['--help']);
    started.push(help);
    expect(await exited(help)).toBe(0);
    const bad = startScript('chaos/src/broken/server-reusing-fences.ts', ['--bogus']);
    started.push(bad);
    expect(await exited(bad)).toBe(2);
    expect(bad.stderr.join('')).toContain("unknown option '--bogus'");
  });

  it('under the workload, the grants checker says invalid: one fence acknowledged to two candidates', async () => {
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const verdicts = await checkedWorkload(
      root,
      {
        endpoints,
        scopes: ['broken/a'],
        workers: [
          { id: 'w1', seed: 21, mode: 'campaign' },
          { id: 'w2', seed: 22, mode: 'campaign' },
        ],
        durationMs: 8000,
        ttlMs: 1500,
      },
      started,
      'broken/',
    );
    const grants = verdicts.find((c) => c.checker === 'grants')!;
    expect(grants.verdict).toBe('invalid');
    expect(grants.violations.join('\n')).toMatch(/was acknowledged to w\d and to w\d .*: a fence was reused/);
  });
});
