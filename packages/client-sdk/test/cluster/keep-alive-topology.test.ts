import { useLocalCluster, waitUntil } from '../../../server/test/cluster/cluster-helpers';
import type { Lease } from '../../src/index';
import { createClient, isOmniRelayError } from '../../src/index';
import { sleep } from '../support/solo';

const LEASES = 100;
const TTL_MS = 3000;

describe('KeepAlive across topology changes (3 real processes)', () => {
  const cluster = useLocalCluster('sdk-keepalive', { size: 3 });
  jest.setTimeout(120_000);

  it('keeps 100 leases through a leader kill, a restart, a planned transfer and a membership change', async () => {
    const first = await cluster().waitForLeader();
    const client = createClient({
      endpoints: cluster().nodes.map((n) => n.grpcAddress),
      callTimeoutMs: 5000,
    });
    try {
      const leases: Lease[] = [];
      for (let i = 0; i < LEASES; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: 20 }, (_, j) => client.acquire(`ka/${i + j}`, { ttlMs: TTL_MS })),
        );
        for (const lease of batch) leases.push(lease!);
      }
      const ended: string[] = [];
      for (const lease of leases) {
        lease.signal.addEventListener('abort', () =>
          ended.push(`${lease.scope}: ${String(lease.signal.reason)}`),
        );
      }
      const stillHeld = async (): Promise<void> => {
        expect(ended).toEqual([]);
        const held = await client.allLeaders({ prefix: 'ka/' });
        expect(held).toHaveLength(LEASES);
        const fences = new Map(held.map((l) => [l.scope, l.fence]));
        for (const lease of leases) expect(fences.get(lease.scope)).toBe(lease.fence);
      };

      // 1. kill -9 the Raft leader: the stream fails, the SDK finds the new leader and renews there.
      await cluster().kill(first);
      await waitUntil('a new leader', async () => ((await cluster().leader()) ?? first) !== first);
      await sleep(2 * TTL_MS);
      await stillHeld();

      // 2. restart the killed node (it rejoins as a follower).
      cluster().start(first);
      await waitUntil(`${first} to follow again`, async () => (await cluster().status(first))?.leader !== '');
      await sleep(TTL_MS);
      await stillHeld();

      // 3. a planned transfer to another voter.
      const before = await cluster().waitForLeader();
      const moved = await client.transferLeadership();
      expect(moved.leader).not.toBe(before);
      await sleep(TTL_MS);
      await stillHeld();

      // 4. a membership change: add a fourth node, promote it, remove a follower.
      const n4 = await cluster().addJoiningNode();
      await client.addLearner(n4.id, n4.peerAddress);
      cluster().start(n4.id);
      await waitUntil(`${n4.id} to be promoted`, async () => {
        try {
          await client.promote(n4.id);
          return true;
        } catch (e) {
          if (isOmniRelayError(e, 'LEARNER_NOT_CAUGHT_UP')) return false;
          throw e;
        }
      });
      const leader = await cluster().waitForLeader();
      const follower = cluster().nodes.find((n) => n.id !== leader && n.id !== n4.id)!.id;
      await client.removeMember(follower);
      await cluster().kill(follower);
      await sleep(TTL_MS);
      await stillHeld();
    } finally {
      client.close();
    }
  });
});
