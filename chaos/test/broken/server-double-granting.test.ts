import { join } from 'node:path';
import { createClient } from '@omnirelay/client-sdk';
import { checkedWorkload, useChaosCluster } from '../helpers/workload-run';

const BROKEN = join(__dirname, '../../src/broken/server-double-granting.ts');

describe('chaos/src/broken/server-double-granting.ts on a real 3-node loopback cluster', () => {
  // Preloaded before the real entry, as the file's doc comment says.
  const { cluster, root, started } = useChaosCluster('chaos-broken-grants', [
    '-r',
    '@swc-node/register',
    '-r',
    BROKEN,
  ]);

  it('grants a held scope to a second candidate while the first one still holds it', async () => {
    await cluster().waitForLeader();
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const a = createClient({ endpoints, candidateId: 'a' });
    const b = createClient({ endpoints, candidateId: 'b' });
    try {
      const first = (await a.acquire('probe/1', { ttlMs: 5000 }))!;
      const second = await b.acquire('probe/1', { ttlMs: 5000 });
      expect(second?.candidateId).toBe('b');
      expect(second!.fence).toBeGreaterThan(first.fence);
      await second!.resign();
    } finally {
      a.close();
      b.close();
    }
  });

  it('under the workload, the server-holders and linearizability checkers say invalid', async () => {
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const verdicts = await checkedWorkload(
      root,
      {
        endpoints,
        scopes: ['broken/a'],
        workers: [
          { id: 'w1', seed: 31, mode: 'acquire' },
          { id: 'w2', seed: 32, mode: 'acquire' },
          { id: 'w3', seed: 33, mode: 'acquire' },
        ],
        // Each worker counts its duration from its own start, and a loaded machine can take
        // seconds to start the next one: long enough that they surely overlap.
        durationMs: 15_000,
        ttlMs: 3000,
      },
      started,
      'broken/',
    );
    const holders = verdicts.find((c) => c.checker === 'server-holders')!;
    expect(holders.verdict).toBe('invalid');
    expect(holders.violations.join('\n')).toMatch(/two holders overlap/);
    const linearizable = verdicts.find((c) => c.checker === 'linearizability')!;
    expect(linearizable.verdict).toBe('invalid');
    // The store is correct: it rejects the first holder's stale writes, so it stays valid.
    expect(verdicts.find((c) => c.checker === 'fenced-store')!.verdict).toBe('valid');
  });
});
