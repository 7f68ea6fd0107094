import { useLocalCluster } from '../../../server/test/cluster/cluster-helpers';
import type { Lease } from '../../src/index';
import { createClient } from '../../src/index';
import { sleep, waitFor } from '../support/solo';
import { startTcpProxy } from '../support/tcp-proxy';

const TTL_MS = 1000;

describe('an election announced too late (3 real processes, a TCP proxy that holds bytes)', () => {
  const cluster = useLocalCluster('sdk-late-election', { size: 3 });
  jest.setTimeout(60_000);

  it('never resolves a campaign with a lease the cluster has already given to someone else', async () => {
    const leader = await cluster().waitForLeader();
    const direct = cluster().nodes.map((n) => n.grpcAddress);
    // The late candidate reaches the cluster only through a proxy to the leader.
    const proxy = await startTcpProxy(cluster().node(leader).grpcAddress);
    const holder = createClient({ endpoints: direct, candidateId: 'holder' });
    const late = createClient({ endpoints: [proxy.address], candidateId: 'late' });
    const third = createClient({ endpoints: direct, candidateId: 'third' });
    try {
      const held = (await holder.acquire('late/1', { ttlMs: TTL_MS }))!;
      let queued = false;
      let resolved: Lease | undefined;
      const campaign = late.campaign('late/1', { ttlMs: TTL_MS, onQueued: () => (queued = true) });
      void campaign.then((l) => (resolved = l));
      await waitFor('the late candidate to queue', () => queued);

      // The late candidate is elected while its connection holds every byte: it cannot learn of
      // the election nor renew, so the cluster expires its lease and elects the third candidate.
      proxy.hold();
      await held.resign();
      const thirdLease = await third.campaign('late/1', { ttlMs: 5000 });
      const current = await third.getLeader('late/1');
      expect(current?.candidateId).toBe('third');

      // The stale election now arrives: the SDK must confirm it, be refused, and keep campaigning.
      proxy.release();
      await sleep(1500);
      expect(resolved).toBeUndefined();
      expect((await third.getLeader('late/1'))?.candidateId).toBe('third');

      // When the third candidate resigns, the late one is elected for real, with a higher fence.
      await thirdLease.resign();
      const lease = await campaign;
      expect(lease.fence).toBeGreaterThan(thirdLease.fence);
      expect(lease.isValid()).toBe(true);
      expect((await holder.getLeader('late/1'))?.candidateId).toBe('late');
      await lease.resign();
    } finally {
      holder.close();
      late.close();
      third.close();
      await proxy.close();
    }
  });
});
