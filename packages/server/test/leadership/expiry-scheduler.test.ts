import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplyResult, Command, LeaseRef } from '@omnirelay/leadership-fsm';
import { DEADLINE_INDEX_MOVES_MAX, DUE_LEASES_MAX, SCOPE_NAME_BYTES_MAX } from '@omnirelay/leadership-fsm';
import { RaftNode } from '@omnirelay/raft';
import { pino } from 'pino';
import { ServerError, freePort, loadServerConfig } from '../../src/index';
import { EXPIRE_IDLE_RETRY_MS_MAX, ExpiryScheduler } from '../../src/leadership/expiry-scheduler';
import { LeadershipService } from '../../src/leadership/leadership-service';
import { LeadershipStateMachine } from '../../src/leadership/leadership-state-machine';
import type { LeaseBatchCommand, LeaseBatchRefusal } from '../../src/leadership/lease-batches';
import { WatchHub } from '../../src/leadership/watch-hub';

jest.setTimeout(60_000);

/** WAIT_MS bounds every wait of these tests. */
const WAIT_MS = 15_000;

/**
 * Stack is one single-node Raft node with the leadership state machine, a LeadershipService and
 * an ExpiryScheduler whose clock the test holds: frozen, leases fall due only when it is let go,
 * so many leases can fall due together, as after a leader's stall.
 */
interface Stack {
  readonly node: RaftNode<ApplyResult>;
  readonly sm: LeadershipStateMachine;
  readonly service: LeadershipService;
  readonly refusals: Array<[LeaseBatchCommand, LeaseBatchRefusal]>;
  readonly logLines: string[];
  /** release lets the scheduler's clock run (it reads the wall clock from then on). */
  release(): void;
  stop(): Promise<void>;
}

/** SchedulerTimes are the grace and stall settings a stack's scheduler runs with. */
interface SchedulerTimes {
  readonly graceMs: number;
  readonly graceCapMs: number;
  readonly stallThresholdMs: number;
}

async function startStack(
  times: SchedulerTimes = { graceMs: 0, graceCapMs: 0, stallThresholdMs: 60_000 },
): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omnirelay-expiry-'));
  const config = loadServerConfig(
    [
      '--id',
      'solo',
      '--peer-address',
      `127.0.0.1:${await freePort()}`,
      '--data-dir',
      dataDir,
      '--initial-cluster-state',
      'new',
    ],
    {},
  );
  const logLines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
  const sm = new LeadershipStateMachine();
  const node = await RaftNode.start(config, sm, logger);
  const deadline = Date.now() + WAIT_MS;
  while (!node.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const refusals: Array<[LeaseBatchCommand, LeaseBatchRefusal]> = [];
  const service = new LeadershipService(
    node,
    sm,
    new WatchHub(1000),
    () => undefined,
    () => undefined,
    undefined,
    logger,
    (command, refusal) => void refusals.push([command, refusal]),
  );
  const frozenAtMs = Date.now();
  let frozen = true;
  const scheduler = new ExpiryScheduler(
    service,
    sm,
    { ...times, nowMs: () => (frozen ? frozenAtMs : Date.now()) },
    logger,
  );
  sm.onApplied(() => scheduler.onApplied());
  scheduler.onLeadership(node.isLeader);
  return {
    node,
    sm,
    service,
    refusals,
    logLines,
    release: () => {
      frozen = false;
      scheduler.onApplied();
    },
    stop: async () => {
      scheduler.stop();
      service.resetReleaser.stop();
      await node.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** acquireAll acquires every scope with a 500 ms lease, 512 at a time. */
async function acquireAll(service: LeadershipService, scopes: readonly string[]): Promise<LeaseRef[]> {
  const refs: LeaseRef[] = [];
  for (let i = 0; i < scopes.length; i += 512) {
    const outcomes = await Promise.all(
      scopes.slice(i, i + 512).map((scope) => service.acquire({ scope, candidateId: 'c', leaseTtlMs: 500 })),
    );
    for (const o of outcomes)
      if (o.granted) refs.push({ scope: o.lease.scope, fenceToken: o.lease.fenceToken });
  }
  return refs;
}

/** waitUntil polls `done` every 10 ms, at most WAIT_MS; it answers whether `done` came true. */
async function waitUntil(done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + WAIT_MS;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return done();
}

describe('ExpiryScheduler', () => {
  let stack: Stack;

  beforeEach(async () => {
    stack = await startStack();
  });

  afterEach(async () => {
    await stack.stop();
  });

  it('expires 4,096 leases with 253-byte scope names that fall due together, in entries that fit', async () => {
    const scopes = Array.from({ length: DUE_LEASES_MAX }, (_, i) => {
      const suffix = `/${i}`;
      return 'e'.repeat(SCOPE_NAME_BYTES_MAX - suffix.length) + suffix;
    });
    const leases = await acquireAll(stack.service, scopes);
    expect(leases).toHaveLength(DUE_LEASES_MAX);
    const lastDeadlineMs = Math.max(...leases.map((l) => stack.sm.fsm.getHolder(l.scope)?.deadlineMs ?? 0));
    await new Promise((r) => setTimeout(r, Math.max(0, lastDeadlineMs - Date.now() + 10)));
    let expireEntries = 0;
    stack.sm.onApplied((r) => {
      if (r.ok && r.outcome.type === 'expire') expireEntries++;
    });
    stack.release();
    const allExpired = await waitUntil(() => scopes.every((s) => stack.sm.fsm.getHolder(s) === null));
    expect(stack.logLines.filter((l) => l.includes('did not commit'))).toEqual([]);
    expect(allExpired).toBe(true);
    expect(expireEntries).toBeGreaterThanOrEqual(2);
    expect(stack.refusals).toEqual([]);
  });

  it('isolates a lease whose expire cannot be proposed, expires the others, and does not retry it in a loop', async () => {
    const leases = await acquireAll(stack.service, [
      'poison/0',
      ...Array.from({ length: 20 }, (_, i) => `ok/${i}`),
    ]);
    expect(leases).toHaveLength(21);
    // A refusal about the batch's content, for every expire that lists this lease.
    const propose = stack.service.propose.bind(stack.service);
    let expireAttempts = 0;
    jest.spyOn(stack.service, 'propose').mockImplementation((command: Command) => {
      if (command.type !== 'expire') return propose(command);
      expireAttempts++;
      if (command.leases.some((l) => l.scope === 'poison/0')) {
        return Promise.reject(new ServerError('INVALID_ARGUMENT', 'injected: this lease cannot be proposed'));
      }
      return propose(command);
    });
    await new Promise((r) => setTimeout(r, 600));
    stack.release();
    const othersExpired = await waitUntil(() =>
      leases.every((l) => l.scope === 'poison/0' || stack.sm.fsm.getHolder(l.scope) === null),
    );
    expect(othersExpired).toBe(true);
    expect(stack.sm.fsm.getHolder('poison/0')).not.toBeNull();
    const attemptsAfterIsolation = expireAttempts;
    // A loop would retry every 50 ms at most; quarantined, the lease costs nothing more.
    await new Promise((r) => setTimeout(r, 500));
    expect(expireAttempts).toBe(attemptsAfterIsolation);
    expect(stack.refusals.filter(([, r]) => r === 'isolated')).toEqual([['expire', 'isolated']]);
    expect(stack.refusals.filter(([, r]) => r === 'split').length).toBeGreaterThanOrEqual(1);
    const isolatedLine = stack.logLines.find((l) => l.includes('cannot be proposed even alone'));
    expect(isolatedLine).toContain('"scope":"poison/0"');
    expect(isolatedLine).toContain('"code":"INVALID_ARGUMENT"');
  });

  it('looks less and less often while every due lease has a renewal queued, and expires them promptly once none has', async () => {
    const leases = await acquireAll(
      stack.service,
      Array.from({ length: 200 }, (_, i) => `pending/${i}`),
    );
    expect(leases).toHaveLength(200);
    // A leader behind on renewals: every due lease has one queued.
    let pending = true;
    jest.spyOn(stack.service, 'renewalPending').mockImplementation(() => pending);
    const query = jest.spyOn(stack.sm.fsm, 'expiredLeases');
    await new Promise((r) => setTimeout(r, 600)); // every lease is past its 500 ms deadline
    stack.release();
    await new Promise((r) => setTimeout(r, 2000));
    // At a fixed EXPIRE_RETRY_MS (50 ms) that is about 40 rounds; doubling up to
    // EXPIRE_IDLE_RETRY_MS_MAX (800 ms) it is 50 + 100 + 200 + 400 + 800 + … : 6 or 7.
    expect(query.mock.calls.length).toBeLessThanOrEqual(10);
    expect(leases.every((l) => stack.sm.fsm.getHolder(l.scope) !== null)).toBe(true);

    // The renewals were refused after all (nothing queued any more): the leases go within a wait.
    pending = false;
    const started = Date.now();
    expect(await waitUntil(() => leases.every((l) => stack.sm.fsm.getHolder(l.scope) === null))).toBe(true);
    expect(Date.now() - started).toBeLessThan(EXPIRE_IDLE_RETRY_MS_MAX + 1000);
  });

  it('expires leases at their grace deadline while the deadline index catches up a budget at a time', async () => {
    // More leases than one query catches up: after the grace below, the index's bucket of the
    // grace deadline holds them all and is read over several expiry rounds, each answering none.
    const count = 3 * DEADLINE_INDEX_MOVES_MAX;
    const leases = await acquireAll(
      stack.service,
      Array.from({ length: count }, (_, i) => `g/${i}`),
    );
    expect(leases).toHaveLength(count);
    const tookOfficeStampMs = stack.sm.clock.now();
    const graceMs = 1500;
    await stack.service.propose({ type: 'grace', correlationId: 'test-grace', tookOfficeStampMs, graceMs });
    const graceDeadlineMs = tookOfficeStampMs + graceMs;
    // The timer's bound is still a lease's deadline before the grace: every slot is lazy.
    expect(stack.sm.fsm.deadlineLowerBoundMs()!).toBeLessThan(graceDeadlineMs);
    const expireStampsMs: number[] = [];
    let notDue = 0;
    stack.sm.onApplied((r) => {
      if (!r.ok || r.outcome.type !== 'expire') return;
      expireStampsMs.push(stack.sm.fsm.stats().clockMs);
      notDue += r.outcome.leases.filter((l) => !l.expired && l.reason === 'NOT_DUE').length;
    });
    stack.release();
    const allExpired = await waitUntil(() => leases.every((l) => stack.sm.fsm.getHolder(l.scope) === null));
    expect(allExpired).toBe(true);
    expect(expireStampsMs.length).toBeGreaterThanOrEqual(1);
    expect(Math.min(...expireStampsMs)).toBeGreaterThanOrEqual(graceDeadlineMs);
    expect(notDue).toBe(0);
    expect(stack.logLines.filter((l) => l.includes('did not commit'))).toEqual([]);
  });

  it('re-keys a renewed lease once its previous deadline passes, not after every renewal, and expires it at its last renewal + TTL', async () => {
    const ttlMs = 3000;
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        stack.service.acquire({ scope: `r/${i}`, candidateId: 'c', leaseTtlMs: ttlMs }),
      ),
    );
    const leases = outcomes.flatMap((o) =>
      o.granted ? [{ scope: o.lease.scope, fenceToken: o.lease.fenceToken }] : [],
    );
    expect(leases).toHaveLength(200);
    const grantedBeforeMs = Date.now();
    stack.release();
    const index = (stack.sm.fsm as unknown as { state: { deadlines: object } }).state.deadlines;
    const rekey = jest.spyOn(index as { catchUp(slot: unknown): void }, 'catchUp');
    // Three renew entries, each naming every lease: each leaves every slot lazy (keyed at the
    // deadline before). Asking for the exact next deadline after each apply re-keyed all 200 each
    // time (600 moves); the timer's lower bound moves none until a previous deadline passes.
    for (let round = 0; round < 3; round++) {
      const items = await stack.service.renewMany(leases);
      expect(items.every((item) => item.renewed)).toBe(true);
    }
    expect(Date.now() - grantedBeforeMs).toBeLessThan(ttlMs);
    expect(rekey).toHaveBeenCalledTimes(0);
    const lastRenewalMs = new Map(
      leases.map((l) => [l.scope, stack.sm.fsm.getHolder(l.scope)!.deadlineMs - ttlMs] as const),
    );
    let early = 0;
    stack.sm.onApplied((r) => {
      if (!r.ok || r.outcome.type !== 'expire') return;
      const stampMs = stack.sm.fsm.stats().clockMs;
      for (const l of r.outcome.leases)
        if (l.expired && stampMs < lastRenewalMs.get(l.scope)! + ttlMs) early++;
    });
    const allExpired = await waitUntil(() => leases.every((l) => stack.sm.fsm.getHolder(l.scope) === null));
    expect(allExpired).toBe(true);
    expect(early).toBe(0);
    // Each slot moved once its deadline before the renewals passed (then it was due at its last).
    expect(rekey.mock.calls.length).toBeLessThanOrEqual(200);
  });
});

/** stallFor holds this process's event loop for `ms` (the scheduler runs in it): a stall. */
function stallFor(ms: number): number {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: timers and sockets wait.
  }
  return Date.now();
}

describe('ExpiryScheduler after a stall', () => {
  let stack: Stack | undefined;

  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('holds expiries back for graceMs after the stall without proposing a grace (no work per lease)', async () => {
    stack = await startStack({ graceMs: 3000, graceCapMs: 60_000, stallThresholdMs: 100 });
    stack.release();
    const leases = await acquireAll(
      stack.service,
      Array.from({ length: 10 }, (_, i) => `stall/${i}`),
    );
    expect(leases).toHaveLength(10);
    const graces: Command[] = [];
    const propose = stack.service.propose.bind(stack.service);
    jest.spyOn(stack.service, 'propose').mockImplementation((command: Command) => {
      if (command.type === 'grace') graces.push(command);
      return propose(command);
    });
    const stallEnd = stallFor(400);
    // The leases (TTL 500 ms, nobody renews) fell due about 500 ms after their grant; the stall's
    // grace holds them until its end + 3 s.
    await new Promise((r) => setTimeout(r, 1500));
    const heldAt = Date.now() - stallEnd;
    expect(leases.filter((l) => stack!.sm.fsm.getHolder(l.scope) === null)).toEqual([]);
    expect(heldAt).toBeLessThan(3000);
    const s = stack;
    expect(await waitUntil(() => leases.every((l) => s.sm.fsm.getHolder(l.scope) === null))).toBe(true);
    expect(Date.now() - stallEnd).toBeGreaterThanOrEqual(3000 - 50);
    // No replicated grace: at 85,000 leases one walked every lease on every replica for 0.3-1.3 s.
    expect(graces).toEqual([]);
    expect(s.logLines.some((l) => l.includes('the event loop stalled'))).toBe(true);
  });

  it('looks up no holder for a due lease once the stall grace has passed', async () => {
    stack = await startStack({ graceMs: 200, graceCapMs: 60_000, stallThresholdMs: 400 });
    stack.release();
    const s = stack;
    stallFor(700);
    expect(await waitUntil(() => s.logLines.some((l) => l.includes('the event loop stalled')))).toBe(true);
    // Past the stall's end + graceMs (by the scheduler's clock, the wall clock here).
    await new Promise((r) => setTimeout(r, 400));
    const fsm = s.sm.fsm;
    const getHolder = jest.spyOn(fsm, 'getHolder');
    const heldLease = jest.spyOn(fsm, 'heldLease');
    const leases = await acquireAll(
      s.service,
      Array.from({ length: 10 }, (_, i) => `after-stall/${i}`),
    );
    expect(leases).toHaveLength(10);
    // The test reads leaseCount, not getHolder, so every counted lookup is the scheduler's.
    expect(await waitUntil(() => fsm.stats().leaseCount === 0)).toBe(true);
    expect(s.sm.fsm).toBe(fsm);
    // A second stall would open a new grace, in which lookups are due: that would be no regression.
    expect(s.logLines.filter((l) => l.includes('the event loop stalled'))).toHaveLength(1);
    expect(getHolder).not.toHaveBeenCalled();
    expect(heldLease).not.toHaveBeenCalled();
  });

  it('still expires, during that grace, a lease past its last renewal + TTL + graceCapMs', async () => {
    stack = await startStack({ graceMs: 60_000, graceCapMs: 0, stallThresholdMs: 100 });
    stack.release();
    const leases = await acquireAll(stack.service, ['capped/0', 'capped/1']);
    expect(leases).toHaveLength(2);
    stallFor(400);
    const s = stack;
    // A 60 s grace would keep them for a minute; the cap (TTL + 0) lets them go at once.
    expect(await waitUntil(() => leases.every((l) => s.sm.fsm.getHolder(l.scope) === null))).toBe(true);
  });
});
