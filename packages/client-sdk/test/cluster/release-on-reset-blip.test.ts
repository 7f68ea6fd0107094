import { useLocalCluster } from '../../../server/test/cluster/cluster-helpers';
import type { Lease, LeadershipEvent, OmniRelayClient } from '../../src/index';
import { createClient } from '../../src/index';
import { sleep, waitFor } from '../support/solo';
import type { TcpProxy } from '../support/tcp-proxy';
import { startTcpProxy } from '../support/tcp-proxy';

/** TTL_MS is long, so that only release-on-reset can free the scope within a test. */
const TTL_MS = 30_000;
const RELEASE_ON_RESET_MS = 1000;

/** Handover is the moment the cluster gave the holder's scope away, seen from the holder's process. */
interface Handover {
  readonly event: LeadershipEvent;
  /** holderValid is the old lease's isValid() when the event arrived (after the cluster applied it). */
  readonly holderValid: boolean;
  readonly holderAborted: boolean;
}

/**
 * A KeepAlive stream that resets (a proxy blip, a stuck stream the SDK cancels) arms the leader's
 * release-on-reset timer. The holder reaches the node through a TCP proxy that resets its
 * connections; a rival on a direct connection campaigns for the scope, and a watch reports every
 * holder change. At no moment may the cluster hand the scope on while the holder's isValid() is
 * true; with a fast reconnect the holder keeps the lease (it is renewed at once).
 */
describe('release on reset through a TCP proxy blip (a real node process)', () => {
  const cluster = useLocalCluster('sdk-reset-blip', { size: 1 });
  jest.setTimeout(60_000);

  let proxy: TcpProxy;
  let holder: OmniRelayClient;
  let rival: OmniRelayClient;
  let watching: AbortController;
  let handovers: Handover[];

  beforeEach(async () => {
    await cluster().waitForLeader();
    const direct = cluster().nodes[0]!.grpcAddress;
    proxy = await startTcpProxy(direct);
    holder = createClient({ endpoints: [proxy.address], callTimeoutMs: 3000, candidateId: 'holder' });
    rival = createClient({ endpoints: [direct], callTimeoutMs: 3000, candidateId: 'rival' });
    watching = new AbortController();
    handovers = [];
  });

  afterEach(async () => {
    watching.abort();
    holder.close();
    rival.close();
    await proxy.close();
  });

  /** hold acquires `scope` through the proxy, queues the rival and watches the scope's holder changes. */
  async function hold(scope: string): Promise<{ lease: Lease; elected: Promise<Lease> }> {
    const lease = (await holder.acquire(scope, { ttlMs: TTL_MS, releaseOnResetMs: RELEASE_ON_RESET_MS }))!;
    expect(lease).not.toBeNull();
    const events = rival.watch(scope, { signal: watching.signal });
    void (async () => {
      for await (const event of events) {
        if (event.scope !== scope || event.previous?.fence !== lease.fence) continue;
        handovers.push({ event, holderValid: lease.isValid(), holderAborted: lease.signal.aborted });
      }
    })().catch(() => undefined);
    let queued = false;
    const elected = rival.campaign(scope, {
      ttlMs: TTL_MS,
      signal: watching.signal,
      onQueued: () => (queued = true),
    });
    elected.catch(() => undefined);
    await waitFor('the rival to queue', () => queued);
    // Let renewals and probes go through the proxy for a while (bounded), away from the grant.
    await sleep(700);
    expect(lease.isValid()).toBe(true);
    return { lease, elected };
  }

  it('keeps the lease through a blip with a fast reconnect: it is renewed at once, before the leader releases it', async () => {
    const { lease } = await hold('blip/kept');
    proxy.reset();
    // Three graces: long enough for the leader's timer to fire had it not been cancelled.
    await sleep(3 * RELEASE_ON_RESET_MS);
    expect(handovers).toEqual([]);
    expect(lease.endedReason).toBeUndefined();
    expect(lease.isValid()).toBe(true);
    const current = await rival.getLeader('blip/kept');
    expect(current?.fence).toBe(lease.fence);
    expect(current?.candidateId).toBe('holder');
  });

  it('ends the lease before the leader releases it when the holder cannot reconnect in time', async () => {
    const { lease, elected } = await hold('blip/refused');
    let abortedAt = 0;
    lease.signal.addEventListener('abort', () => (abortedAt = Date.now()));
    const resetAt = Date.now();
    proxy.reset({ refuseNew: true });
    const next = await elected;
    const validAtElection = lease.isValid();
    const electedAt = Date.now();
    await waitFor('the handover event', () => handovers.length > 0);
    proxy.admit();
    process.stderr.write(
      `refused reconnect: holder's signal aborted ${abortedAt - resetAt} ms after the reset, rival elected ${electedAt - resetAt} ms after it\n`,
    );
    expect(validAtElection).toBe(false);
    expect(handovers[0]!.holderValid).toBe(false);
    expect(handovers[0]!.holderAborted).toBe(true);
    expect(next.fence).toBeGreaterThan(lease.fence);
    expect(abortedAt).toBeGreaterThan(0);
    expect(abortedAt).toBeLessThanOrEqual(electedAt);
    expect(lease.endedReason).toBe('unconfirmed');
  });

  it('ends the lease before the leader releases it when only the server side sees the reset', async () => {
    const { lease, elected } = await hold('blip/half');
    const resetAt = Date.now();
    proxy.resetServerSide();
    const next = await elected;
    const validAtElection = lease.isValid();
    const electedAt = Date.now();
    await waitFor('the handover event', () => handovers.length > 0);
    process.stderr.write(`server-side reset: rival elected ${electedAt - resetAt} ms after it\n`);
    expect(validAtElection).toBe(false);
    expect(handovers[0]!.holderValid).toBe(false);
    expect(next.fence).toBeGreaterThan(lease.fence);
    expect(lease.signal.aborted).toBe(true);
  });
});
