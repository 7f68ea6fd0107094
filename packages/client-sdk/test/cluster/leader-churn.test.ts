import { useLocalCluster } from '../../../server/test/cluster/cluster-helpers';
import type { LeadershipEvent } from '../../src/index';
import { createClient, isOmniRelayError } from '../../src/index';
import { sleep } from '../support/solo';

const TTL_MS = 1000;
/** ELECTION_TIMEOUT_MS is the servers' default --election-timeout-ms. */
const ELECTION_TIMEOUT_MS = 500;
const CHURN_MS = 5000;

describe('lease lifetime under Raft leader churn (3 real processes)', () => {
  const cluster = useLocalCluster('sdk-churn', { size: 3 });
  jest.setTimeout(60_000);

  it("frees a dead holder's lease within TTL + one election timeout while leadership moves every ~300 ms, and keeps the live one", async () => {
    await cluster().waitForLeader();
    const endpoints = cluster().nodes.map((n) => n.grpcAddress);
    const operator = createClient({ endpoints, callTimeoutMs: 5000 });
    const live = createClient({ endpoints, candidateId: 'live' });
    const controller = new AbortController();
    const events: LeadershipEvent[] = [];
    const watching = (async () => {
      for await (const e of operator.watch('churn/', { signal: controller.signal })) events.push(e);
    })();
    try {
      await sleep(200);
      const liveLease = (await live.acquire('churn/live', { ttlMs: 2000 }))!;
      // The dead holder acquires once and never renews (its client is gone).
      const deadClient = createClient({ endpoints, candidateId: 'dead' });
      const dead = (await deadClient.acquire('churn/dead', { ttlMs: TTL_MS }))!;
      deadClient.close();
      const view = await operator.getLeader('churn/dead');
      const lastRenewal = view!.lastRenewedAtMs;

      let transfers = 0;
      const churnUntil = Date.now() + CHURN_MS;
      while (Date.now() < churnUntil) {
        try {
          await operator.transferLeadership();
          transfers++;
        } catch (e) {
          // A transfer asked while the previous one settles is refused; the next one goes.
          if (!isOmniRelayError(e)) throw e;
        }
        await sleep(250);
      }
      expect(transfers).toBeGreaterThanOrEqual(8);
      const expired = events.find((e) => e.scope === 'churn/dead' && e.reason === 'expired');
      expect(expired).toBeDefined();
      expect(expired!.previous?.fence).toBe(dead.fence);
      const lifetime = expired!.stampMs - lastRenewal;
      process.stderr.write(
        `leader churn: ${transfers} transfers in ${CHURN_MS} ms; the dead lease (ttl ${TTL_MS}) expired ${lifetime} ms after its last renewal\n`,
      );
      // TTL + one election timeout, plus room for the expiry timer and one take-office grace commit.
      expect(lifetime).toBeLessThanOrEqual(TTL_MS + ELECTION_TIMEOUT_MS + 300);
      expect(events.some((e) => e.scope === 'churn/live' && e.reason === 'expired')).toBe(false);
      expect(liveLease.signal.aborted).toBe(false);
      expect((await operator.getLeader('churn/live'))?.fence).toBe(liveLease.fence);
    } finally {
      controller.abort();
      await watching;
      operator.close();
      live.close();
    }
  });
});
