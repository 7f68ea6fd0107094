import type * as grpc from '@grpc/grpc-js';
import type { Msg, Solo } from './grpc-test-helpers';
import {
  StreamReader,
  duplex,
  leaseOf,
  serverStream,
  sleep,
  startSolo,
  streamReady,
  unary,
} from './grpc-test-helpers';

/** waitFor polls `check` every 5 ms for at most 2 s. */
async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** TTL_MS is the holders' lease TTL: long enough that a release well under it is plainly not an expiry. */
const TTL_MS = 5000;

describe('release on reset (LeaseRef.release_on_reset_ms)', () => {
  jest.setTimeout(60_000);
  let solo: Solo;

  beforeAll(async () => {
    solo = await startSolo();
  });

  afterAll(async () => {
    await solo.stop();
  });

  async function acquire(scope: string, candidateId: string, leaseTtlMs = TTL_MS): Promise<Msg> {
    const res = await unary(solo.leadership, 'Acquire', { scope, candidateId, leaseTtlMs });
    expect(res['granted']).toBe(true);
    return leaseOf(res, 'lease');
  }

  /** renewOn sends one KeepAlive request for `lease` on `stream` and returns its one result. */
  async function renewOn(
    stream: grpc.ClientDuplexStream<object, Msg>,
    reader: StreamReader,
    lease: Msg,
    releaseOnResetMs: number,
  ): Promise<Msg> {
    stream.write({ leases: [{ scope: lease['scope'], fenceToken: lease['fenceToken'], releaseOnResetMs }] });
    const results = (await reader.next())['results'] as Msg[];
    expect(results).toHaveLength(1);
    return results[0]!;
  }

  async function holderOf(scope: string): Promise<Msg | null> {
    const res = await unary(solo.leadership, 'GetLeader', { scope });
    return (res['leader'] as Msg | null) ?? null;
  }

  it('hands the scope to a waiting candidate well under the TTL when the holder’s KeepAlive stream is cancelled', async () => {
    const scope = 'ror/crashed';
    const lease = await acquire(scope, 'holder');
    const stream = duplex(solo.leadership, 'KeepAlive');
    const reader = new StreamReader(stream);
    expect(await renewOn(stream, reader, lease, 150)).toMatchObject({ renewed: true, errorCode: '' });

    const campaign = serverStream(solo.leadership, 'Campaign', {
      scope,
      candidateId: 'successor',
      leaseTtlMs: TTL_MS,
    });
    const campaignReader = new StreamReader(campaign);
    expect(await campaignReader.next()).toHaveProperty('queued');

    const resetAt = Date.now();
    stream.cancel();
    const elected = await campaignReader.next();
    const electedAfterMs = Date.now() - resetAt;
    if (process.env['PRINT_FIGURES'] === '1') {
      process.stdout.write(`release on reset: successor elected ${electedAfterMs} ms after the reset\n`);
    }
    expect(leaseOf(leaseOf(elected, 'elected'), 'lease')).toMatchObject({ candidateId: 'successor' });
    expect(BigInt(leaseOf(leaseOf(elected, 'elected'), 'lease')['fenceToken'] as string)).toBeGreaterThan(
      BigInt(lease['fenceToken'] as string),
    );
    expect(electedAfterMs).toBeGreaterThanOrEqual(150);
    expect(electedAfterMs).toBeLessThan(2000);
    expect((await campaignReader.end()).error).toBeNull();
    expect(solo.server.service.resetReleaser.pendingCount).toBe(0);
  });

  it('records the release as a resignation with a release-on-reset correlation id', async () => {
    const scope = 'ror/audited';
    const lease = await acquire(scope, 'holder');
    const watch = serverStream(solo.leadership, 'Watch', { prefix: scope, fromRevision: 0 });
    const watchReader = new StreamReader(watch);
    await streamReady(watch);
    const stream = duplex(solo.leadership, 'KeepAlive');
    const reader = new StreamReader(stream);
    await renewOn(stream, reader, lease, 100);
    stream.cancel();
    const events = (await watchReader.next())['events'] as Msg[];
    watch.cancel();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      scope,
      reason: 'HOLDER_CHANGE_REASON_RESIGNED',
      previousHolder: { candidateId: 'holder', fenceToken: lease['fenceToken'] },
      holder: null,
    });
    expect(events[0]!['correlationId']).toMatch(/^release-on-reset-/);
  });

  it('keeps the lease of a holder that reconnects and renews within the grace, with no holder change', async () => {
    const scope = 'ror/blip';
    const lease = await acquire(scope, 'holder');
    const watch = serverStream(solo.leadership, 'Watch', { prefix: scope, fromRevision: 0 });
    const watchReader = new StreamReader(watch);
    await streamReady(watch);

    const first = duplex(solo.leadership, 'KeepAlive');
    const firstReader = new StreamReader(first);
    await renewOn(first, firstReader, lease, 400);
    first.cancel();
    await waitFor(
      'the release timer to be armed',
      () => solo.server.service.resetReleaser.pendingCount === 1,
    );
    // A new stream renews the lease within the grace: the pending release stops.
    const second = duplex(solo.leadership, 'KeepAlive');
    const secondReader = new StreamReader(second);
    expect(await renewOn(second, secondReader, lease, 400)).toMatchObject({ renewed: true });
    expect(solo.server.service.resetReleaser.pendingCount).toBe(0);

    await sleep(800);
    expect(await holderOf(scope)).toMatchObject({ candidateId: 'holder', fenceToken: lease['fenceToken'] });
    second.end();
    expect((await secondReader.end()).error).toBeNull();
    watch.cancel();
    const { messages } = await watchReader.end();
    expect(messages).toEqual([]);
  });

  it('keeps a lease renewed on a new stream when the old stream’s reset is seen only after that renewal', async () => {
    const scope = 'ror/late-reset';
    const lease = await acquire(scope, 'holder');
    const first = duplex(solo.leadership, 'KeepAlive');
    const firstReader = new StreamReader(first);
    expect(await renewOn(first, firstReader, lease, 150)).toMatchObject({ renewed: true });
    // The holder reconnected and renewed on a second stream; the first one's reset comes later.
    const second = duplex(solo.leadership, 'KeepAlive');
    const secondReader = new StreamReader(second);
    expect(await renewOn(second, secondReader, lease, 150)).toMatchObject({ renewed: true });
    first.cancel();
    await firstReader.end();
    await sleep(600);
    expect(solo.server.service.resetReleaser.pendingCount).toBe(0);
    expect(await holderOf(scope)).toMatchObject({ candidateId: 'holder', fenceToken: lease['fenceToken'] });
    // The second stream still owns it: its own reset releases the lease.
    second.cancel();
    await secondReader.end();
    await waitFor('the release', () => solo.server.service.resetReleaser.pendingCount === 0);
    const deadline = Date.now() + 2000;
    while ((await holderOf(scope)) !== null && Date.now() < deadline) await sleep(20);
    expect(await holderOf(scope)).toBeNull();
    expect(solo.server.service.resetReleaser.ownerCount).toBe(0);
  });

  it('answers an empty KeepAlive request (a probe) at once, with no results and no renewal', async () => {
    const stream = duplex(solo.leadership, 'KeepAlive');
    const reader = new StreamReader(stream);
    stream.write({ leases: [] });
    expect((await reader.next())['results'] ?? []).toEqual([]);
    stream.end();
    expect((await reader.end()).error).toBeNull();
  });

  it('keeps the lease until its TTL when the holder half-closes the stream cleanly', async () => {
    const scope = 'ror/clean-stop';
    const lease = await acquire(scope, 'holder', 1500);
    const stream = duplex(solo.leadership, 'KeepAlive');
    const reader = new StreamReader(stream);
    // The renewal's send time, as the SDK counts it: the lease cannot end before it + TTL (taken after
    // the answer instead, the round trip made this test fail by a millisecond or two now and then).
    const renewedAt = Date.now();
    expect(await renewOn(stream, reader, lease, 100)).toMatchObject({ renewed: true });
    stream.end();
    expect((await reader.end()).error).toBeNull();
    expect(solo.server.service.resetReleaser.pendingCount).toBe(0);

    await sleep(600);
    expect(await holderOf(scope)).toMatchObject({ candidateId: 'holder', fenceToken: lease['fenceToken'] });
    // ... and it ends by expiry at its TTL, as a lease without release on reset would.
    const deadline = Date.now() + 5000;
    while ((await holderOf(scope)) !== null && Date.now() < deadline) await sleep(50);
    expect(await holderOf(scope)).toBeNull();
    expect(Date.now() - renewedAt).toBeGreaterThanOrEqual(1500);
  });

  it.each([
    ['below the minimum', 49],
    ['above the lease TTL', TTL_MS + 1],
  ])(
    'refuses a release_on_reset_ms %s with INVALID_ARGUMENT for that lease alone, renewing nothing of it',
    async (_, ms) => {
      const scope = `ror/bad/${ms}`;
      const lease = await acquire(scope, 'holder');
      const other = await acquire(`${scope}/other`, 'holder');
      const before = await holderOf(scope);
      const stream = duplex(solo.leadership, 'KeepAlive');
      const reader = new StreamReader(stream);
      stream.write({
        leases: [
          { scope, fenceToken: lease['fenceToken'], releaseOnResetMs: ms },
          { scope: other['scope'], fenceToken: other['fenceToken'], releaseOnResetMs: TTL_MS },
        ],
      });
      const results = (await reader.next())['results'] as Msg[];
      expect(results[0]).toMatchObject({ scope, renewed: false, errorCode: 'INVALID_ARGUMENT' });
      expect(results[1]).toMatchObject({ scope: other['scope'], renewed: true, errorCode: '' });
      expect((await holderOf(scope))?.['lastRenewalStampMs']).toBe(before?.['lastRenewalStampMs']);
      stream.end();
      expect((await reader.end()).error).toBeNull();
    },
  );

  it('accepts the bounds themselves: 50 ms and the lease TTL', async () => {
    const lease = await acquire('ror/bounds', 'holder');
    const stream = duplex(solo.leadership, 'KeepAlive');
    const reader = new StreamReader(stream);
    expect(await renewOn(stream, reader, lease, 50)).toMatchObject({ renewed: true });
    expect(await renewOn(stream, reader, lease, TTL_MS)).toMatchObject({ renewed: true });
    stream.end();
    expect((await reader.end()).error).toBeNull();
  });
});
