import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { useLocalCluster } from '../../../server/test/cluster/cluster-helpers';
import { createClient } from '../../src/index';
import { waitFor } from '../support/solo';

const TTL_MS = 1000;

describe('holder failover when the holding process dies (3 real processes)', () => {
  const cluster = useLocalCluster('sdk-holder-failover', { size: 3 });
  jest.setTimeout(60_000);

  /** killHolder runs a holder process, kills it with SIGKILL while a rival campaigns, and returns kill → rival elected (ms). */
  async function killHolder(scope: string, extra: string[]): Promise<number> {
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const child = spawn(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        join(__dirname, '../support/holder-child.ts'),
        endpoints.join(','),
        scope,
        String(TTL_MS),
        'http://127.0.0.1:1/unused',
        ...extra,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const rival = createClient({ endpoints, candidateId: 'rival' });
    try {
      let held = false;
      createInterface({ input: child.stdout }).on('line', (l) => (held ||= l.includes('"held"')));
      await waitFor('the holder process to hold the scope', () => held, 20_000);
      let queued = false;
      const elected = rival.campaign(scope, { ttlMs: 5000, onQueued: () => (queued = true) });
      await waitFor('the rival to queue', () => queued);
      // Kill the holder soon after it took the scope (before its first scheduled renewal).
      await new Promise((r) => setTimeout(r, 100));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      const lease = await elected;
      const tookMs = Date.now() - killedAt;
      await lease.resign();
      return tookMs;
    } finally {
      child.kill('SIGKILL');
      rival.close();
    }
  }

  it('gives the scope to the waiting candidate within TTL (+ slack) of the kill: expiry runs on a timer at the deadline', async () => {
    await cluster().waitForLeader();
    const tookMs = await killHolder('failover/ttl', []);
    process.stderr.write(
      `holder failover (ttl ${TTL_MS} ms): the rival held the scope ${tookMs} ms after kill -9\n`,
    );
    // The figure against the TTL + 100 ms target is in the bench (workload f); this
    // bound only catches a coarse periodic scan, and leaves room for a loaded machine.
    expect(tookMs).toBeLessThanOrEqual(TTL_MS + 300);
  });

  it('with releaseOnResetMs, replaces a killed holder well under its TTL (the kernel resets its stream)', async () => {
    await cluster().waitForLeader();
    // The holder assumes 50 ms of skew (loopback): the SDK requires releaseOnResetMs > maxClockSkewMs.
    const tookMs = await killHolder('failover/reset', ['150', '50']);
    process.stderr.write(
      `holder failover with release-on-reset 150 ms (ttl ${TTL_MS} ms): ${tookMs} ms after kill -9\n`,
    );
    expect(tookMs).toBeLessThan(TTL_MS / 2);
  });
});
