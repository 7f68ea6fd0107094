import { useLocalCluster } from '../../../server/test/cluster/cluster-helpers';
import { createClient } from '../../src/index';
import type { TcpProxy } from '../support/tcp-proxy';
import { startTcpProxy } from '../support/tcp-proxy';

const TTL_MS = 2000;

describe('a holder cut off from a running cluster (3 real processes, a TCP proxy)', () => {
  const cluster = useLocalCluster('sdk-cut-off', { size: 3 });
  jest.setTimeout(60_000);

  it("aborts the holder's signal before the cluster grants the scope to another candidate", async () => {
    await cluster().waitForLeader();
    const direct = cluster().nodes.map((n) => n.grpcAddress);
    const proxies: TcpProxy[] = await Promise.all(direct.map((a) => startTcpProxy(a)));
    const holder = createClient({
      endpoints: proxies.map((p) => p.address),
      callTimeoutMs: 2000,
      candidateId: 'holder',
    });
    const rival = createClient({ endpoints: direct, candidateId: 'rival' });
    try {
      const lease = (await holder.acquire('cut/1', { ttlMs: TTL_MS }))!;
      expect(lease).not.toBeNull();
      let abortedAt = 0;
      lease.signal.addEventListener('abort', () => (abortedAt = Date.now()));
      const elected = rival.campaign('cut/1', { ttlMs: TTL_MS });
      // Let a few renewals go through the proxies first.
      await new Promise((r) => setTimeout(r, 1500));
      expect(lease.signal.aborted).toBe(false);
      const cutAt = Date.now();
      for (const p of proxies) p.cut();
      const next = await elected;
      const granted = await rival.getLeader('cut/1');
      expect(granted?.candidateId).toBe('rival');
      expect(next.fence).toBeGreaterThan(lease.fence);
      expect(lease.signal.aborted).toBe(true);
      expect(lease.endedReason).toBe('unconfirmed');
      // The grant's stamp is the leader's wall clock; this test runs on the same machine.
      const grantedAt = granted!.grantedAtMs;
      process.stderr.write(
        `cut-off holder: signal aborted ${abortedAt - cutAt} ms after the cut, the rival was granted ${grantedAt - cutAt} ms after it (margin ${grantedAt - abortedAt} ms)\n`,
      );
      expect(abortedAt).toBeGreaterThan(0);
      expect(abortedAt).toBeLessThan(grantedAt);
      await next.resign();
    } finally {
      holder.close();
      rival.close();
      await Promise.all(proxies.map((p) => p.close()));
    }
  });
});
