import type * as grpc from '@grpc/grpc-js';
import { GRPC_STATUS, OmniRelayError, abortError, aborted, fromGrpcError, untilAborted } from './errors';
import type { Router } from './router';
import { backoffMs, sleep } from './router';
import type { WatchItem, WatchItemSink, WatchMuxes, WatchResponse } from './watch-mux';
import { QUEUE_HIGH_WATER, isUnimplemented } from './watch-mux';
import type { LeadershipEvent, WireEvent } from './wire';
import { big, leadershipEvent } from './wire';

/** WatchOptions configures Client.watch. */
export interface WatchOptions {
  /**
   * fromRevision replays retained events from this revision on. Without it the watch starts at
   * the revision the answering node has applied when the watch begins (nothing before it is
   * replayed, nothing after it is missed).
   */
  readonly fromRevision?: bigint;
  /** signal ends the iteration (the loop finishes without an error). */
  readonly signal?: AbortSignal;
  /** onResume hears each reconnection, with the revision the watch resumes from (for logs). */
  readonly onResume?: (info: { address: string; fromRevision: bigint; error: OmniRelayError }) => void;
}

/**
 * watchEvents yields every holder change of scopes under `prefix`, in revision order, and keeps
 * going across disconnects, leader changes and node restarts: it remembers the next revision it
 * needs and resumes from exactly there on any node (revisions are Raft indexes, the same on every
 * node), so there is no gap and no duplicate. It ends with COMPACTED when the revision it needs
 * is no longer kept by any node it reaches (events were lost to this watcher; list the current
 * leaders and watch again). Each node's watches of one client share one WatchStream call
 * (`muxes`); a node without it (UNIMPLEMENTED) gets one Watch call per watch.
 */
export async function* watchEvents(
  router: Router,
  muxes: WatchMuxes,
  prefix: string,
  options: WatchOptions,
  limits: { callTimeoutMs: number; backoffBaseMs: number; backoffMaxMs: number },
): AsyncGenerator<LeadershipEvent, void, undefined> {
  const signal = options.signal;
  let next = options.fromRevision;
  if (next !== undefined && next < 1n) {
    throw new OmniRelayError('INVALID_ARGUMENT', `fromRevision must be ≥ 1 (got ${next})`);
  }
  let failures = 0;
  let turn = 0;
  for (;;) {
    if (aborted(signal)) return;
    // Prefer a node that answered last time; move on to the next one after a failure.
    const addresses = router.addresses;
    const address = addresses[turn % addresses.length]!;
    let error: OmniRelayError;
    try {
      if (next === undefined) next = (await appliedAt(router, address, limits.callTimeoutMs, signal)) + 1n;
      const from = next;
      for await (const item of openAnyWatch(router, muxes, address, prefix, from, signal)) {
        if ('end' in item) throw item.end;
        failures = 0;
        const revision = big(item.response.revision);
        if (revision < next) continue; // already delivered before a resume
        for (const e of item.response.events) yield leadershipEventOnce(e);
        next = revision + 1n;
      }
      if (aborted(signal)) return;
      error = new OmniRelayError('UNAVAILABLE', `${address} ended the watch`);
    } catch (e) {
      if (aborted(signal)) return;
      error = e instanceof OmniRelayError ? e : fromGrpcError(e, address);
    }
    if (error.code === 'COMPACTED' || error.code === 'INVALID_ARGUMENT' || error.code === 'INVALID_SCOPE') {
      throw error;
    }
    if (error.code === 'CLOSED') throw error;
    failures++;
    turn++;
    if (next !== undefined) options.onResume?.({ address, fromRevision: next, error });
    try {
      // A slow consumer cut off by the server resumes at once; anything else (a watcher limit too) backs off.
      if (
        error.details.grpcStatus !== GRPC_STATUS.RESOURCE_EXHAUSTED ||
        error.code === 'LIMIT_REACHED' ||
        failures > 1
      ) {
        await sleep(backoffMs(failures, limits), signal);
      }
    } catch {
      return;
    }
  }
}

/** appliedBatches holds, per client and node, the Status call that the watches beginning in this turn will share. */
const appliedBatches = new WeakMap<Router, Map<string, Promise<bigint>>>();

/**
 * appliedAt asks the node at `address` which revision it has applied, for a watch that starts
 * there. The watches that begin in one event-loop turn share one Status call, sent on the next
 * turn: after each of them began, so each still starts at a revision the node had applied when
 * (or after) it began. A service opening 1,000 watches at once sends one call, not 1,000.
 */
function appliedAt(
  router: Router,
  address: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<bigint> {
  let batches = appliedBatches.get(router);
  if (batches === undefined) {
    batches = new Map();
    appliedBatches.set(router, batches);
  }
  let batch = batches.get(address);
  if (batch === undefined) {
    const open = batches;
    batch = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        // Watches that begin from now on need a call sent after them: a new batch.
        open.delete(address);
        return router.once('Cluster', 'Status', {}, address, timeoutMs);
      })
      .then((s) => big((s as { applied: string }).applied));
    batches.set(address, batch);
  }
  return untilAborted(batch, signal, 'the watch');
}

/** converted holds the event made from each decoded wire event still referenced. */
const converted = new WeakMap<WireEvent, LeadershipEvent>();

/**
 * leadershipEventOnce converts a decoded wire event once: watchers of one prefix on one node
 * share the decoded response (decodeRepeatsOnce), so they share its (read-only) events too.
 */
export function leadershipEventOnce(wire: WireEvent): LeadershipEvent {
  let event = converted.get(wire);
  if (event === undefined) {
    event = leadershipEvent(wire);
    converted.set(wire, event);
  }
  return event;
}

/**
 * openAnyWatch runs one watch at `address` over the client's shared WatchStream call there, or
 * over a Watch call of its own when the node does not know WatchStream (it answered UNIMPLEMENTED,
 * now or before: the node is remembered, and the watch goes on at once over Watch from the same
 * revision; a revision delivered twice is skipped by watchEvents).
 */
async function* openAnyWatch(
  router: Router,
  muxes: WatchMuxes,
  address: string,
  prefix: string,
  fromRevision: bigint,
  signal: AbortSignal | undefined,
): AsyncGenerator<WatchItem, void, undefined> {
  if (muxes.supports(address)) {
    for await (const item of openMuxWatch(muxes, address, prefix, fromRevision, signal)) {
      if ('end' in item && isUnimplemented(item.end)) {
        muxes.markUnsupported(address);
        break;
      }
      yield item;
      if ('end' in item) return;
    }
    if (muxes.supports(address)) return;
  }
  yield* openWatch(router, address, prefix, fromRevision, signal);
}

/**
 * openMuxWatch runs one watch over the shared WatchStream call of `address` and yields its
 * responses, then one `end` item (the error it was canceled or failed with). The shared call is
 * paused while this watch's consumer is behind (see WatchMux).
 */
async function* openMuxWatch(
  muxes: WatchMuxes,
  address: string,
  prefix: string,
  fromRevision: bigint,
  signal: AbortSignal | undefined,
): AsyncGenerator<WatchItem, void, undefined> {
  const items = new ItemQueue();
  let ended = false;
  const sink: WatchItemSink = {
    push: (item: WatchItem): number => {
      if (ended) return items.length;
      if ('end' in item) ended = true;
      return items.push(item);
    },
  };
  const watch = muxes.of(address).add(prefix, fromRevision, sink);
  const onAbort = (): void => {
    watch.cancel();
    sink.push({ end: abortError('the watch') });
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    yield* items.drain(() => watch.drained());
  } finally {
    signal?.removeEventListener('abort', onAbort);
    watch.cancel();
  }
}

/**
 * openWatch runs one Watch call and yields its responses, then one `end` item (the error, or
 * undefined when the server ended the stream). It pauses the stream while the consumer is behind.
 */
async function* openWatch(
  router: Router,
  address: string,
  prefix: string,
  fromRevision: bigint,
  signal: AbortSignal | undefined,
): AsyncGenerator<WatchItem, void, undefined> {
  const client = router.stub(address, 'Leadership') as unknown as {
    Watch(request: object, metadata: grpc.Metadata): grpc.ClientReadableStream<WatchResponse>;
  };
  const call = client.Watch({ prefix, fromRevision: fromRevision.toString() }, router.metadata());
  const items = new ItemQueue();
  let ended = false;
  const push = (item: WatchItem): void => {
    if (items.push(item) >= QUEUE_HIGH_WATER) call.pause();
  };
  const finish = (end: unknown): void => {
    if (ended) return;
    ended = true;
    push({ end });
  };
  call.on('data', (response: WatchResponse) => push({ response }));
  call.on('error', (e: unknown) => finish(fromGrpcError(e, address)));
  call.on('end', () => finish(new OmniRelayError('UNAVAILABLE', `${address} ended the watch`)));
  const onAbort = (): void => {
    call.cancel();
    finish(abortError('the watch'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    yield* items.drain(() => call.resume());
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!ended) call.cancel();
  }
}

/**
 * ItemQueue holds one watch's items until its iterator takes them. `drain` yields them in order
 * up to and including an `end` item, waiting when there are none, and calls `drained` each time
 * the backlog is below half of QUEUE_HIGH_WATER (the producer paused itself at the mark).
 */
class ItemQueue {
  private readonly items: WatchItem[] = [];
  private wake: (() => void) | undefined;

  get length(): number {
    return this.items.length;
  }

  /** push queues `item` and returns the backlog. */
  push(item: WatchItem): number {
    this.items.push(item);
    this.wake?.();
    return this.items.length;
  }

  async *drain(drained: () => void): AsyncGenerator<WatchItem, void, undefined> {
    for (;;) {
      const item = this.items.shift();
      if (item === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      if (this.items.length < QUEUE_HIGH_WATER / 2) drained();
      yield item;
      if ('end' in item) return;
    }
  }
}
