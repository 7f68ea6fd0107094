import type { Lease, OmniRelayClient } from '@omnirelay/client-sdk';
import type { Mulberry32 } from '@omnirelay/raft';
import type { HistoryWriter } from './history-writer';
import { outcomeOf, storeOutcomeOf } from './outcome';
import type { WorkerMode } from './worker-args';

/** STORE_WRITE_TIMEOUT_MS bounds one write to the fenced store (then it is recorded as info). */
export const STORE_WRITE_TIMEOUT_MS = 2000;
/** WRITES_PER_ROUND_MAX bounds how many writes a holder makes before it decides to resign or go on. */
const WRITES_PER_ROUND_MAX = 10;

/** ScopeWorkerContext is what every scope loop of one worker process shares. */
export interface ScopeWorkerContext {
  readonly id: string;
  readonly client: OmniRelayClient;
  readonly history: HistoryWriter;
  /** storeUrl is the fenced store's POST /write URL. */
  readonly storeUrl: string;
  readonly ttlMs: number;
  readonly mode: WorkerMode;
  /** stop aborts when the worker's run ends (its duration, or SIGTERM). */
  readonly stop: AbortSignal;
  /** beforeWrite runs after the lease check passed, right before each write (a fault hook). */
  readonly beforeWrite: () => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * runScope is one worker's loop for one scope, until `ctx.stop` aborts: take the scope (acquire
 * or campaign, a seeded choice in `mixed` mode), and while holding it write through the fenced
 * store with the lease's fence (checking `lease.isValid()` right before each write), validate the
 * fence now and then, and after each round of writes resign or go on (seeded). Every call is
 * recorded under the process name `<id>/<scope>`; a write the store refused as stale ends the
 * hold (another holder has the scope). On stop, a held lease is resigned.
 */
export async function runScope(ctx: ScopeWorkerContext, scope: string, rng: Mulberry32): Promise<void> {
  const process = `${ctx.id}/${scope}`;
  while (!ctx.stop.aborted) {
    const campaign = ctx.mode === 'campaign' || (ctx.mode === 'mixed' && rng.intBelow(2) === 0);
    const lease = campaign ? await campaignFor(ctx, process, scope) : await acquire(ctx, process, scope);
    if (lease === undefined) {
      await sleep(100 + rng.intBelow(200), ctx.stop);
      continue;
    }
    await hold(ctx, process, lease, rng);
  }
}

async function acquire(ctx: ScopeWorkerContext, process: string, scope: string): Promise<Lease | undefined> {
  ctx.history.invoke(process, 'acquire', scope, { candidate: ctx.id, session: ctx.client.sessionId });
  try {
    const lease = await ctx.client.acquire(scope, { ttlMs: ctx.ttlMs, metadata: ctx.id });
    ctx.history.complete(
      process,
      'ok',
      lease === null ? { granted: false } : { granted: true, fence: lease.fence.toString() },
    );
    return lease ?? undefined;
  } catch (e) {
    const { type, code } = outcomeOf(e);
    ctx.history.complete(process, type, { code });
    return undefined;
  }
}

async function campaignFor(
  ctx: ScopeWorkerContext,
  process: string,
  scope: string,
): Promise<Lease | undefined> {
  ctx.history.invoke(process, 'campaign', scope, { candidate: ctx.id, session: ctx.client.sessionId });
  try {
    const lease = await ctx.client.campaign(scope, { ttlMs: ctx.ttlMs, metadata: ctx.id, signal: ctx.stop });
    ctx.history.complete(process, 'ok', { fence: lease.fence.toString() });
    return lease;
  } catch (e) {
    // A campaign withdrawn at stop (CANCELLED) may have been elected just before: info.
    const { type, code } = outcomeOf(e);
    ctx.history.complete(process, type, { code });
    return undefined;
  }
}

/** hold uses `lease` until it ends, the store refuses it, the seeded choice resigns it, or the run stops. */
async function hold(ctx: ScopeWorkerContext, process: string, lease: Lease, rng: Mulberry32): Promise<void> {
  const fence = lease.fence.toString();
  for (;;) {
    const writes = 1 + rng.intBelow(WRITES_PER_ROUND_MAX);
    for (let i = 0; i < writes; i++) {
      if (ctx.stop.aborted) return resign(ctx, process, lease);
      if (rng.intBelow(4) === 0) await validate(ctx, process, lease);
      // Check right before acting: a timer can fire late after a pause, this check cannot.
      if (!lease.isValid()) return ended(lease, ctx.stop);
      ctx.beforeWrite();
      if (!(await write(ctx, process, lease.scope, fence))) return resign(ctx, process, lease);
      await sleep(30 + rng.intBelow(100), ctx.stop);
    }
    if (!lease.isValid()) return ended(lease, ctx.stop);
    if (ctx.stop.aborted || rng.intBelow(3) === 0) return resign(ctx, process, lease);
  }
}

/**
 * ended resolves when `lease` has ended (or the run stops): a lease no longer proven valid ends
 * on its own timer, and campaigning again before that would find the same lease still held.
 */
function ended(lease: Lease, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (lease.signal.aborted || stop.aborted) return resolve();
    const done = (): void => {
      lease.signal.removeEventListener('abort', done);
      stop.removeEventListener('abort', done);
      resolve();
    };
    lease.signal.addEventListener('abort', done, { once: true });
    stop.addEventListener('abort', done, { once: true });
  });
}

/** write sends one fenced write; it returns false when the store refused the fence as stale. */
async function write(
  ctx: ScopeWorkerContext,
  process: string,
  scope: string,
  fence: string,
): Promise<boolean> {
  ctx.history.invoke(process, 'write', scope, { fence });
  let status: number | undefined;
  try {
    const res = await fetch(ctx.storeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope, fence, writer: ctx.id }),
      signal: AbortSignal.timeout(STORE_WRITE_TIMEOUT_MS),
    });
    status = res.status;
    await res.arrayBuffer();
  } catch {
    // No answer (refused connection, reset, timeout): the store may have decided it anyway.
  }
  const { type, code } = storeOutcomeOf(status);
  ctx.history.complete(process, type, code === undefined ? {} : { code });
  return status !== 409;
}

async function validate(ctx: ScopeWorkerContext, process: string, lease: Lease): Promise<void> {
  ctx.history.invoke(process, 'validate', lease.scope, {
    fence: lease.fence.toString(),
    serializable: false,
  });
  try {
    const { valid } = await ctx.client.validateFence(lease.scope, lease.fence);
    ctx.history.complete(process, 'ok', { valid });
  } catch (e) {
    const { type, code } = outcomeOf(e);
    ctx.history.complete(process, type, { code });
  }
}

/**
 * resign gives the lease up: ok when the cluster removed the holder (Lease.resign resolved true).
 * False means the cluster said the lease was already gone, which a retry also hears after an
 * attempt whose answer was lost, so that is info (NOT_HOLDER), never fail.
 */
async function resign(ctx: ScopeWorkerContext, process: string, lease: Lease): Promise<void> {
  if (lease.endedReason !== undefined) return;
  ctx.history.invoke(process, 'resign', lease.scope, { fence: lease.fence.toString() });
  try {
    if (await lease.resign()) ctx.history.complete(process, 'ok');
    else ctx.history.complete(process, 'info', { code: 'NOT_HOLDER' });
  } catch (e) {
    const { type, code } = outcomeOf(e);
    ctx.history.complete(process, type, { code });
  }
}
