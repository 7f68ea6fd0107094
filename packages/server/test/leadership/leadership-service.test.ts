import type { LeadershipEvent, LeaseRef, LeaseView } from '@omnirelay/leadership-fsm';
import { RENEW_BATCH_MAX, SCOPE_NAME_BYTES_MAX } from '@omnirelay/leadership-fsm';
import type { CampaignRequest, OmniRelayServer } from '../../src/index';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';

jest.setTimeout(30_000);

function collectEvents(server: OmniRelayServer): LeadershipEvent[] {
  const events: LeadershipEvent[] = [];
  server.stateMachine.onApplied((result) => {
    if (result.ok) events.push(...result.events);
  });
  return events;
}

describe('LeadershipService on one node', () => {
  let node: SingleNode;
  let server: OmniRelayServer;

  beforeAll(async () => {
    // A pause of a busy test machine past the default 200 ms stall threshold grants every lease a
    // fresh grace (up to TTL + an election timeout), which is right for a node but not what the
    // deadline test below measures; stalls have tests of their own.
    node = await startSingleNode(['--stall-threshold-ms', '5000']);
    server = node.server;
  });

  afterAll(async () => {
    await node.stop();
  });

  it('folds many concurrent renewals into a few replicated entries', async () => {
    const leases: LeaseView[] = [];
    for (let i = 0; i < 200; i++) {
      const o = await server.service.acquire({ scope: `batch/${i}`, candidateId: 'c', leaseTtlMs: 60_000 });
      if (o.granted) leases.push(o.lease);
    }
    let renewEntries = 0;
    server.stateMachine.onApplied((r) => {
      if (r.ok && r.outcome.type === 'renew') renewEntries++;
    });
    const items = await Promise.all(
      leases.map((l) => server.service.renew({ scope: l.scope, fenceToken: l.fenceToken })),
    );
    expect(items.every((i) => i.renewed)).toBe(true);
    // 200 renewals, but at most a handful of entries: one in flight, the rest ride the next.
    expect(renewEntries).toBeGreaterThanOrEqual(1);
    expect(renewEntries).toBeLessThanOrEqual(3);
  });

  it("renews 4,096 leases with 253-byte scope names together with another tenant's, with no COMMAND_TOO_LARGE for anyone", async () => {
    const longScope = (i: number): string => {
      const suffix = `/${i}`;
      return `tenant-long/${'n'.repeat(SCOPE_NAME_BYTES_MAX - 'tenant-long/'.length - suffix.length)}${suffix}`;
    };
    const acquireAll = async (scopes: string[]): Promise<LeaseRef[]> => {
      const refs: LeaseRef[] = [];
      for (let i = 0; i < scopes.length; i += 512) {
        const outcomes = await Promise.all(
          scopes
            .slice(i, i + 512)
            .map((scope) => server.service.acquire({ scope, candidateId: 'c', leaseTtlMs: 60_000 })),
        );
        for (const o of outcomes)
          if (o.granted) refs.push({ scope: o.lease.scope, fenceToken: o.lease.fenceToken });
      }
      return refs;
    };
    const long = await acquireAll(Array.from({ length: RENEW_BATCH_MAX }, (_, i) => longScope(i)));
    expect(long).toHaveLength(RENEW_BATCH_MAX);
    expect(long.every((l) => l.scope.length === SCOPE_NAME_BYTES_MAX)).toBe(true);
    const short = await acquireAll(Array.from({ length: 50 }, (_, i) => `tenant-short/${i}`));
    // As KeepAlive streams send them: requests of at most 1,000 leases, all arriving together.
    const requests: LeaseRef[][] = [];
    for (let i = 0; i < long.length; i += 1000) requests.push(long.slice(i, i + 1000));
    requests.push(short);
    const answers = await Promise.allSettled(requests.map((r) => server.service.renewMany(r)));
    const failures = answers.filter((a) => a.status === 'rejected');
    expect(failures.map((f) => String(f.reason))).toEqual([]);
    const items = answers.flatMap((a) => (a.status === 'fulfilled' ? a.value : []));
    expect(items).toHaveLength(RENEW_BATCH_MAX + 50);
    expect(items.filter((i) => !i.renewed)).toEqual([]);
  });

  it('reports a stale fence in a renewal without failing the others', async () => {
    const o = await server.service.acquire({ scope: 'stale/renew', candidateId: 'c', leaseTtlMs: 60_000 });
    if (!o.granted) throw new Error('not granted');
    const [good, stale] = await Promise.all([
      server.service.renew({ scope: 'stale/renew', fenceToken: o.lease.fenceToken }),
      server.service.renew({ scope: 'stale/renew', fenceToken: o.lease.fenceToken - 1n }),
    ]);
    expect(good).toMatchObject({ renewed: true });
    expect(stale).toMatchObject({ renewed: false, code: 'STALE_FENCE' });
  });

  it('expires an unrenewed lease at its deadline, not on a periodic scan (within TTL + 100 ms of the grant)', async () => {
    const events = collectEvents(server);
    const grantedAt = Date.now();
    const o = await server.service.acquire({ scope: 'expiry/on-time', candidateId: 'c', leaseTtlMs: 500 });
    if (!o.granted) throw new Error('not granted');
    const deadline = Date.now() + 3000;
    while (
      !events.some((e) => e.scope === 'expiry/on-time' && e.reason === 'expired') &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const expiredAfterMs = Date.now() - grantedAt;
    expect(events.some((e) => e.scope === 'expiry/on-time' && e.reason === 'expired')).toBe(true);
    expect(expiredAfterMs).toBeGreaterThanOrEqual(500);
    expect(expiredAfterMs).toBeLessThanOrEqual(600);
  });

  it('promotes the best waiting candidate when the holder resigns, in the same entry', async () => {
    const holder = await server.service.acquire({ scope: 'queue/x', candidateId: 'a', leaseTtlMs: 60_000 });
    if (!holder.granted) throw new Error('not granted');
    const controller = new AbortController();
    const low = server.service.campaign(
      { scope: 'queue/x', candidateId: 'low', leaseTtlMs: 60_000, priority: 1 },
      controller.signal,
    );
    const high = server.service.campaign(
      { scope: 'queue/x', candidateId: 'high', leaseTtlMs: 60_000, priority: 9 },
      controller.signal,
    );
    await new Promise((r) => setTimeout(r, 50));
    await server.service.resign('queue/x', holder.lease.fenceToken);
    const elected = await high;
    expect(elected.lease.candidateId).toBe('high');
    expect(elected.lease.fenceToken).toBeGreaterThan(holder.lease.fenceToken);
    controller.abort();
    await expect(low).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    const view = server.stateMachine.fsm.getScope('queue/x');
    expect(view?.waiting.map((w) => w.candidateId) ?? []).not.toContain('low');
  });

  /** heldWithCampaign grants `scope` to candidate h and returns the lease and a campaign request of candidate w in `sessionId`. */
  async function heldWithCampaign(
    scope: string,
    sessionId: string,
  ): Promise<{ holder: LeaseView; request: CampaignRequest }> {
    const holder = await server.service.acquire({ scope, candidateId: 'h', leaseTtlMs: 60_000 });
    if (!holder.granted) throw new Error('not granted');
    return {
      holder: holder.lease,
      request: { scope, candidateId: 'w', sessionId, leaseTtlMs: 60_000, priority: 0 },
    };
  }

  it("keeps a session's new campaign in the queue when its cancelled campaign's withdraw comes after it, and elects it", async () => {
    const { holder, request } = await heldWithCampaign('queue/again', 'session-w');
    // The interleaving: the first campaign is queued, the same session campaigns again (a retry
    // elsewhere, or cancel then campaign) and is told it already waits, and only then does the
    // first call's cancellation arrive and withdraw.
    const first = new AbortController();
    let queuedFirst: () => void = () => undefined;
    const firstQueued = new Promise<void>((resolve) => (queuedFirst = resolve));
    const firstCampaign = server.service.campaign(request, first.signal, () => queuedFirst());
    await firstQueued;
    const second = new AbortController();
    let queuedSecond: (o: { alreadyWaiting: boolean }) => void = () => undefined;
    const secondQueued = new Promise<{ alreadyWaiting: boolean }>((resolve) => (queuedSecond = resolve));
    const secondCampaign = server.service.campaign(request, second.signal, (o) => queuedSecond(o));
    expect((await secondQueued).alreadyWaiting).toBe(true);
    first.abort();
    // The first call rejects once its withdraw (if any) has been applied.
    await expect(firstCampaign).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    const waiting = server.stateMachine.fsm.getScope('queue/again')?.waiting ?? [];
    expect(waiting.map((w) => w.candidateId)).toEqual(['w']);

    await server.service.resign('queue/again', holder.fenceToken);
    let bound: NodeJS.Timeout | undefined;
    const elected = await Promise.race([
      secondCampaign,
      new Promise<undefined>((resolve) => (bound = setTimeout(() => resolve(undefined), 5_000))),
    ]);
    clearTimeout(bound);
    second.abort();
    expect(elected?.lease.candidateId).toBe('w');
    expect(elected?.lease.fenceToken).toBeGreaterThan(holder.fenceToken);
  });

  it('withdraws the candidate when the last of its campaigns in a session is cancelled', async () => {
    const { holder, request } = await heldWithCampaign('queue/both', 'session-b');
    const controllers = [new AbortController(), new AbortController()];
    const queued: Promise<void>[] = [];
    const campaigns = controllers.map((c) => {
      let done: () => void = () => undefined;
      queued.push(new Promise<void>((resolve) => (done = resolve)));
      return server.service.campaign(request, c.signal, () => done());
    });
    await Promise.all(queued);
    for (const c of controllers) c.abort();
    for (const campaign of campaigns)
      await expect(campaign).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(server.stateMachine.fsm.getScope('queue/both')?.waiting ?? []).toEqual([]);
    await server.service.resign('queue/both', holder.fenceToken);
  });
});

describe('LeadershipService admission control of new leases', () => {
  const LAG_MAX_MS = 50;
  let node: SingleNode;
  let server: OmniRelayServer;

  beforeAll(async () => {
    node = await startSingleNode([
      '--stall-threshold-ms',
      '5000',
      '--admission-renewal-lag-ms',
      String(LAG_MAX_MS),
    ]);
    server = node.server;
  });

  afterAll(async () => {
    await node.stop();
  });

  /** busyFor holds the event loop `ms`, as a saturated leader does: a renewal in flight cannot be answered meanwhile. */
  const busyFor = (ms: number): void => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // Spin: nothing else runs on this loop until the bound.
    }
  };

  const status = async (): Promise<Record<string, unknown>> => {
    const res = await fetch(`http://${server.config.clientAddress}/status`);
    return ((await res.json()) as { admission: Record<string, unknown> }).admission;
  };

  it('refuses Acquire and Campaign with BACKPRESSURE while a renewal waits past the bound, never renewals or resigns, and admits again after', async () => {
    const held = await server.service.acquire({ scope: 'admit/held', candidateId: 'c', leaseTtlMs: 60_000 });
    if (!held.granted) throw new Error('admit/held was not granted');
    const ref = { scope: held.lease.scope, fenceToken: held.lease.fenceToken };
    const renewal = server.service.renew(ref);
    // Let the batcher hand the renewal to Raft, then keep the loop busy past the bound.
    await Promise.resolve();
    busyFor(LAG_MAX_MS * 3);
    const refused = await server.service
      .acquire({ scope: 'admit/new', candidateId: 'c', leaseTtlMs: 60_000 })
      .then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
    expect(refused?.code).toBe('BACKPRESSURE');
    expect(refused?.message).toMatch(/--admission-renewal-lag-ms/);
    await expect(
      server.service.campaign(
        { scope: 'admit/new', candidateId: 'c', leaseTtlMs: 60_000, priority: 0 },
        new AbortController().signal,
      ),
    ).rejects.toMatchObject({ code: 'BACKPRESSURE' });
    // The held lease still renews while new ones are refused.
    expect((await renewal).renewed).toBe(true);
    expect((await server.service.renew(ref)).renewed).toBe(true);
    const refusing = await status();
    expect(refusing).toMatchObject({ renewalLagMsMax: LAG_MAX_MS, refusedTotal: 2 });
    // After the bound without a backlog, new leases are admitted again.
    await new Promise((resolve) => setTimeout(resolve, LAG_MAX_MS * 2));
    const granted = await server.service.acquire({
      scope: 'admit/new',
      candidateId: 'c',
      leaseTtlMs: 60_000,
    });
    expect(granted.granted).toBe(true);
    expect(await status()).toMatchObject({ refusing: false, renewalLagMs: 0, refusedTotal: 2 });
    await server.service.resign(ref.scope, ref.fenceToken);
    const metrics = await (await fetch(`http://${server.config.clientAddress}/metrics`)).text();
    expect(metrics).toMatch(/^omnirelay_admission_refusals_total\{call="acquire"\} 1$/m);
    expect(metrics).toMatch(/^omnirelay_admission_refusals_total\{call="campaign"\} 1$/m);
    expect(metrics).toMatch(/^omnirelay_admission_refusing 0$/m);
  });

  it('admits new leases on a leader whose event loop stalled with no renewal waiting: it is behind on nothing', async () => {
    // The lateness of the loop counts toward the renewal lag only while renewals wait
    // (renewalLag); counted alone, a stall at start-up refused a test's acquires in CI.
    await new Promise((resolve) => setTimeout(resolve, LAG_MAX_MS * 2));
    const before = (await status()).refusedTotal as number;
    busyFor(LAG_MAX_MS * 3);
    const granted = await server.service.acquire({
      scope: 'admit/idle-stall',
      candidateId: 'c',
      leaseTtlMs: 60_000,
    });
    expect(granted.granted).toBe(true);
    expect((await status()).refusedTotal).toBe(before);
    if (granted.granted) await server.service.resign(granted.lease.scope, granted.lease.fenceToken);
  });

  it('admits, while refusing new leases, a retry whose session already holds or waits for the scope, and answers it with what it has', async () => {
    // An attempt the client gave up on (its deadline passed) may still have won the scope; the
    // client's retry must get that lease back, not BACKPRESSURE until it lapses unrenewed.
    const held = await server.service.acquire({
      scope: 'admit/retried',
      candidateId: 'c',
      sessionId: 's1',
      leaseTtlMs: 60_000,
    });
    if (!held.granted) throw new Error('admit/retried was not granted');
    const queued: unknown[] = [];
    const waiting = server.service.campaign(
      { scope: 'admit/retried', candidateId: 'w', sessionId: 's2', leaseTtlMs: 60_000, priority: 0 },
      new AbortController().signal,
      (q) => queued.push(q),
    );
    for (let i = 0; i < 100 && queued.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(queued).toHaveLength(1);
    const ref = { scope: held.lease.scope, fenceToken: held.lease.fenceToken };
    /** backlogged leaves a renewal unanswered past the bound: the next calls made at once are judged refusing. */
    const backlogged = async (): Promise<void> => {
      const renewal = server.service.renew(ref);
      await Promise.resolve();
      busyFor(LAG_MAX_MS * 3);
      void renewal.then((r) => expect(r.renewed).toBe(true));
    };
    const refusedBefore = (await status()).refusedTotal as number;

    await backlogged();
    // Each call is made before anything is awaited, while the leader refuses new leases.
    const retried = server.service.acquire({
      scope: 'admit/retried',
      candidateId: 'c',
      sessionId: 's1',
      leaseTtlMs: 60_000,
    });
    const requeued: unknown[] = [];
    const retryAbort = new AbortController();
    const campaignRetry = server.service.campaign(
      { scope: 'admit/retried', candidateId: 'w', sessionId: 's2', leaseTtlMs: 60_000, priority: 0 },
      retryAbort.signal,
      (q) => requeued.push(q),
    );
    // The same candidate in another session or with none, another candidate and a new scope wait.
    const refusals = [
      { scope: 'admit/retried', candidateId: 'c', sessionId: 's9' },
      { scope: 'admit/retried', candidateId: 'c' },
      { scope: 'admit/retried', candidateId: 'x', sessionId: 's1' },
      { scope: 'admit/fresh', candidateId: 'c', sessionId: 's1' },
    ].map((req) => server.service.acquire({ ...req, leaseTtlMs: 60_000 }));
    for (const refused of refusals) await expect(refused).rejects.toMatchObject({ code: 'BACKPRESSURE' });
    expect((await status()).refusedTotal).toBe(refusedBefore + refusals.length);

    const answer = await retried;
    expect(answer).toMatchObject({ granted: true, alreadyHolder: true });
    if (!answer.granted) throw new Error('unreachable');
    expect(answer.lease.fenceToken).toBe(held.lease.fenceToken);
    for (let i = 0; i < 100 && requeued.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(requeued).toMatchObject([{ elected: false, alreadyWaiting: true }]);

    retryAbort.abort();
    await campaignRetry.catch(() => undefined);
    await server.service.resign(ref.scope, ref.fenceToken);
    const won = await waiting;
    expect(won.lease.candidateId).toBe('w');
    await server.service.resign(won.lease.scope, won.lease.fenceToken);
  });
});
