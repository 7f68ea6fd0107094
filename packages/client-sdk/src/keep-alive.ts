import type * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { OmniRelayError, fromGrpcError } from './errors';
import type { Lease, StreamProof } from './lease';
import type { Router } from './router';
import { backoffMs } from './router';
import type { WireKeepAliveResult, WireLeaseRef } from './wire';
import { uint64ToWire } from './wire';

/** LEASES_PER_MESSAGE is the most leases one KeepAlive request lists (the server allows 1,000). */
const LEASES_PER_MESSAGE = 1000;

/**
 * LEASES_PER_STREAM is how many distinct leases one stream carries before the SDK rotates to a
 * fresh stream (the server allows 10,000 per stream and counts every lease it has renewed).
 */
const LEASES_PER_STREAM = 9000;

/**
 * SCATTER_EARLY_SHARE is how much earlier than its interval half of the leases resent in the burst
 * after a failed stream (each by a coin toss) are renewed the next time, once. Without it every
 * lease resent at a leader change is confirmed at one send time and comes due again at one time,
 * an interval later, and again after that: at 100,000 leases the new leader took every client's
 * renewals at once every interval (86,000 in flight, 1.8 s old, when it was killed in a scale run,
 * and the next leader got them all at once again). Half an interval, not a random share of it: a
 * scan sends with the leases due what comes due before the next scan (a quarter interval), so
 * leases less than two scans apart go together anyway; a random share up to half an interval left
 * a client's burst in one piece about half the time. Renewing early never shortens a lease's
 * validity; it costs at most one extra renewal per lease per failed stream.
 */
export const SCATTER_EARLY_SHARE = 0.5;

/**
 * RenewalEvent is one step of one lease's renewal over KeepAlive, as ClientOptions.onRenewal hears
 * it, synchronously, in order (for a chaos history or an audit log):
 * - sent: a request renewing the lease is about to be written on the stream;
 * - renewed: the leader answered that it renewed the lease;
 * - refused: the leader answered that it did not (`code`, e.g. NOT_HOLDER): certainly not renewed;
 * - unanswered: the stream failed or was closed before the answer (`code` when the failure had
 *   one; `reason` when the SDK cancelled the stream itself): the renewal may or may not have been
 *   applied.
 * Each `sent` is followed by exactly one of the others before the lease is sent again (closing
 * the client ends the stream: what was in flight is `unanswered`).
 */
export interface RenewalEvent {
  readonly type: 'sent' | 'renewed' | 'refused' | 'unanswered';
  readonly scope: string;
  readonly fence: bigint;
  /**
   * node is the address (`host:port`) the request's stream went to: the leader, or a follower
   * that relays it. A renewal answered late or never names the node it waited on.
   */
  readonly node: string;
  readonly code?: string;
  readonly reason?: CancelReason;
}

/**
 * CancelReason says why the SDK cancelled a KeepAlive stream itself (RenewalEvent.reason, with
 * code CANCELLED): `node-silent`, its node answered nothing, not even a Status (frozen, or a dead
 * path); `stream-stuck`, the stream answered nothing for a renewal interval while its node ran (a
 * relay whose leader is gone).
 */
export type CancelReason = 'node-silent' | 'stream-stuck';

/** KeepAliveOptions bound the renewal loop. */
export interface KeepAliveOptions {
  readonly skewMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** onRenewal hears every RenewalEvent; what it throws is ignored. */
  readonly onRenewal?: (event: RenewalEvent) => void;
}

/** wireRefs holds each lease's LeaseRef as requests carry it, made on its first send. */
const wireRefs = new WeakMap<Lease, WireLeaseRef>();

/** wireLeaseRef is `lease` as a KeepAlive request lists it, its fence as 32-bit halves (no decimal string parsed back per send). */
function wireLeaseRef(lease: Lease): WireLeaseRef {
  let ref = wireRefs.get(lease);
  if (ref === undefined) {
    ref = {
      scope: lease.scope,
      fenceToken: uint64ToWire(lease.fence),
      releaseOnResetMs: lease.releaseOnResetMs,
    };
    wireRefs.set(lease, ref);
  }
  return ref;
}

/** Sent is one request awaiting its response (responses come in request order). */
interface Sent {
  readonly sentAtMs: number;
  readonly leases: readonly Lease[];
}

/** Waiter is a caller of renew() waiting for a renewal sent after it asked. */
interface Waiter {
  readonly askedAtMs: number;
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * KeepAlive renews every lease of a client over one KeepAlive stream to the Raft leader. Each
 * lease is renewed every (ttl − skew) / 3, and leases that come due together share a request,
 * so a client with thousands of leases sends a few messages per interval. A renewal confirms the
 * lease from the send time of its request. When the stream fails (leader change, node restart,
 * network cut, or the SDK's own cancel of a stuck stream) the SDK reconnects to the leader with
 * capped backoff and renews at once what was in flight and every lease with releaseOnResetMs
 * (the leader may have armed its release timer; only a renewal stops it); a lease whose renewal
 * cannot be confirmed before its conservative deadline ends on its own (Lease). Half of the leases
 * of that burst, drawn at random, renew next half an interval early (SCATTER_EARLY_SHARE), so they
 * do not all come due at one time again.
 *
 * Release on reset: a lease with releaseOnResetMs stays valid only while its stream is proven
 * alive (Lease.resetDeadlineMs), so while such leases are held the stream carries a request at
 * least every (releaseOnResetMs − skew) / 3: a renewal when one is due, else an empty request
 * (a probe: the leader answers it without a Raft write). Each answer raises the stream's
 * StreamProof to its request's send time.
 */
export class KeepAlive {
  private readonly leases = new Map<string, Lease>();
  private readonly inFlight = new Set<string>();
  private readonly waiters = new Map<string, Waiter[]>();
  private stream: grpc.ClientDuplexStream<object, { results: WireKeepAliveResult[] }> | undefined;
  private streamAddress = '';
  /** proof is the current stream's StreamProof (a new object per stream; a failed stream's stays frozen). */
  private proof: StreamProof | undefined;
  /** lastSentAtMs is when the current stream last carried a request (monotonic). */
  private lastSentAtMs = Number.NEGATIVE_INFINITY;
  /** lastAnswerAtMs is when the current stream last brought an answer (monotonic; −∞ before its first). */
  private lastAnswerAtMs = Number.NEGATIVE_INFINITY;
  private sent: Sent[] = [];
  /** onStream holds the key of each lease sent on the current stream (the server counts them). */
  private onStream = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** silenceTimer fires when the oldest unanswered request has waited attemptTimeoutMs (checkSilence). */
  private silenceTimer: NodeJS.Timeout | undefined;
  /** silenceChecked is the request whose node was asked whether it still runs (asked once per request). */
  private silenceChecked: Sent | undefined;
  private failures = 0;
  private reconnecting = false;
  /** discovered: the leader was looked up for the stream being opened (once per stream). */
  private discovered = false;
  /** scanEveryMs is how often all leases are scanned for renewal: a quarter of the shortest interval. */
  private scanEveryMs = Infinity;
  /** stuckAfterMs is how long the oldest request may go unanswered before the stream is cancelled. */
  private stuckAfterMs = Infinity;
  /** probeEveryMs is the longest the stream may go without a request while it carries release-on-reset leases. */
  private probeEveryMs = Infinity;
  /** resettable counts the held leases with releaseOnResetMs (the stream is probed while there are any). */
  private resettable = 0;
  /** scatterNext: a stream failed, so the next flush is the burst of leases sent again (SCATTER_EARLY_SHARE). */
  private scatterNext = false;
  /**
   * earlyMs holds, by lease key, how much earlier than its interval a lease of such a burst drawn
   * to go early is due next (it counts once the lease is confirmed; until then it is in flight and
   * not due); the entry goes when the lease is sent again.
   */
  private readonly earlyMs = new Map<string, number>();
  private askedPending = false;
  private closed = false;
  /** askingNode: cancelIfFrozen is asking whether the stream's node still runs (one question at a time). */
  private askingNode = false;
  /** cancelReasons holds why the SDK cancelled a stream, until its error arrives. */
  private readonly cancelReasons = new WeakMap<object, CancelReason>();

  constructor(
    private readonly router: Router,
    private readonly options: KeepAliveOptions,
  ) {}

  /** size is how many leases are being renewed. */
  get size(): number {
    return this.leases.size;
  }

  /** add starts renewing `lease`. */
  add(lease: Lease): void {
    if (this.closed) throw new OmniRelayError('CLOSED', 'the client is closed; create a new one');
    if ((this.leases.get(lease.key)?.releaseOnResetMs ?? 0) > 0) this.resettable--;
    this.leases.set(lease.key, lease);
    if (lease.releaseOnResetMs > 0) this.resettable++;
    const intervalMs = this.intervalOf(lease);
    const proveEveryMs = this.proveEveryOf(lease);
    this.probeEveryMs = Math.min(this.probeEveryMs, proveEveryMs);
    // A silent stream is given up with a third of the validity window left to renew on another.
    this.stuckAfterMs = Math.min(this.stuckAfterMs, intervalMs, 2 * proveEveryMs);
    this.scanEveryMs = Math.min(this.scanEveryMs, Math.max(5, Math.min(intervalMs, proveEveryMs) / 4));
    this.schedule();
  }

  /** remove stops renewing `lease` (it ended); waiters of renew() are rejected. */
  remove(lease: Lease, reason: unknown): void {
    if (this.leases.get(lease.key) === lease && lease.releaseOnResetMs > 0) this.resettable--;
    this.leases.delete(lease.key);
    this.inFlight.delete(lease.key);
    this.earlyMs.delete(lease.key);
    for (const w of this.waiters.get(lease.key) ?? []) w.reject(reason);
    this.waiters.delete(lease.key);
    if (this.leases.size === 0) this.endStream();
  }

  /** renew sends `lease` in the next request and resolves once a renewal sent after this call is confirmed. */
  renew(lease: Lease, timeoutMs: number): Promise<void> {
    if (!this.leases.has(lease.key)) {
      return Promise.reject(
        lease.signal.reason instanceof Error
          ? lease.signal.reason
          : new OmniRelayError('LEASE_LOST', `lease on ${lease.scope} has ended`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        settle();
        reject(
          new OmniRelayError(
            'DEADLINE_EXCEEDED',
            `renewal of ${lease.scope} was not confirmed within ${timeoutMs} ms; check the cluster has a leader`,
          ),
        );
      }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        const list = this.waiters.get(lease.key);
        if (list !== undefined) {
          const i = list.indexOf(waiter);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.waiters.delete(lease.key);
        }
      };
      const waiter: Waiter = {
        askedAtMs: performance.now(),
        resolve: () => {
          settle();
          resolve();
        },
        reject: (e) => {
          settle();
          reject(
            e instanceof Error ? e : new OmniRelayError('LEASE_LOST', `lease on ${lease.scope} has ended`),
          );
        },
      };
      const list = this.waiters.get(lease.key) ?? [];
      list.push(waiter);
      this.waiters.set(lease.key, list);
      this.sendAsked();
    });
  }

  /** close stops renewing (a clean half-close: the leases keep their TTL on the cluster). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.endStream();
  }

  /** intervalOf is how often a lease is renewed. */
  private intervalOf(lease: Lease): number {
    return Math.max(10, (lease.ttlMs - this.options.skewMs) / 3);
  }

  /**
   * proveEveryOf is how often the stream must be proven alive for `lease`: a third of the window
   * its release-on-reset bound leaves (releaseOnResetMs − skew), or Infinity without one.
   */
  private proveEveryOf(lease: Lease): number {
    if (lease.releaseOnResetMs === 0) return Infinity;
    return Math.max(10, (lease.releaseOnResetMs - this.options.skewMs) / 3);
  }

  /**
   * dueAt is when `lease` should next be sent (monotonic): at once when a caller waits for it,
   * or when it has releaseOnResetMs and no renewal of it was confirmed on the current stream
   * (after a reset the leader's release timer runs until the lease is renewed).
   */
  private dueAt(lease: Lease): number {
    if ((this.waiters.get(lease.key)?.length ?? 0) > 0) return 0;
    if (lease.releaseOnResetMs > 0 && !lease.provenBy(this.proof)) return 0;
    const earlyMs = this.earlyMs.size === 0 ? 0 : (this.earlyMs.get(lease.key) ?? 0);
    return lease.confirmedAtMs + this.intervalOf(lease) - earlyMs;
  }

  /**
   * schedule arms the timer: `delayMs` from now, or else the next periodic scan, a quarter of the
   * shortest renewal interval away. The scan is the only work that grows with the number of
   * leases; renewals asked for (renew()) and answers cost nothing per held lease.
   */
  private schedule(delayMs?: number): void {
    if (this.closed || this.reconnecting || this.leases.size === 0) return;
    const at = performance.now() + (delayMs ?? this.scanEveryMs);
    if (at >= this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.dropStuckStream();
        this.flush(this.leases.values());
        this.probe();
        this.schedule();
      },
      Math.max(0, Math.ceil(at - performance.now())),
    );
  }

  /**
   * dropStuckStream cancels a stream whose oldest request has gone unanswered for a whole renewal
   * interval (or two probe intervals with release-on-reset leases) and that brought no answer for
   * as long: the connection may be alive while the path behind it is not (a proxy, a node that
   * lost its leader), and waiting longer would let leases lapse. A stream that still answers,
   * only late (an answer within two such bounds), is left alone; so is a stream straight to the
   * leader while that node answers anything (unlessLeaderRuns): its renewals wait in the leader's
   * backlog, where a new stream would send them again. A leader cut off from its followers steps
   * down (check-quorum), which ends the stream. The cancel is a reset like any other (the leader
   * may arm release timers): the stream's error reconnects, to the leader, and renews what was in
   * flight and every release-on-reset lease.
   */
  private dropStuckStream(): void {
    const oldest = this.sent[0];
    if (this.stream === undefined || oldest === undefined) return;
    const now = performance.now();
    if (now - oldest.sentAtMs < this.stuckAfterMs) return;
    // Answers still coming (in order, if late) mean a slow leader, not a dead path: a cancel
    // would drop what it is working on and send it all again, more load on a leader already
    // behind (at 80,000 leases every client did this at once and the leader never caught up).
    // A stream that answered within two stuck bounds gets that long; one that never answered, one.
    if (now - this.lastAnswerAtMs < 2 * this.stuckAfterMs) return;
    if (this.streamAddress === this.router.knownLeaderAddress) {
      // A fresh stream to a new leader after a failover waits behind every client's renewals sent
      // again at once (4.5 s at 100,000 leases): cancelling it there lost 23,626 leases in a run.
      // It is cancelled only when the leader answers nothing, not even a Status.
      this.unlessLeaderRuns(this.stream, oldest, now);
      return;
    }
    this.cancel(this.stream, 'stream-stuck');
  }

  /**
   * unlessLeaderRuns keeps a stuck `stream` to the leader while the leader answers anything: heard
   * within the stuck bound, or answering a Status asked now (one question at a time). A leader
   * that answers nothing is frozen: the stream is cancelled (node-silent).
   */
  private unlessLeaderRuns(
    stream: grpc.ClientDuplexStream<object, unknown>,
    oldest: Sent,
    now: number,
  ): void {
    if (this.router.answeredSince(this.streamAddress, now - this.stuckAfterMs)) return;
    void this.cancelIfFrozen(stream, oldest);
  }

  /**
   * cancelIfFrozen asks the stream's node whether it still runs (not again when it was already
   * found unresponsive) and, when it answered nothing while `stream` still waits on `oldest`,
   * takes the node for frozen and cancels the stream (node-silent) — unless another node still
   * follows it as leader (Router.othersFollow): a leader stalled past the Status
   * question's bound is still heard by its followers, and cancelling its streams sends every
   * renewal on them to it again, more work for a leader already behind (71,000 renewals cancelled
   * that way in a scale run after a leader change, and every lease lapsed). Vouched for, it is
   * asked again, a round per attemptTimeoutMs at most, while `oldest` has waited less than the
   * stuck bound; a frozen leader loses its followers within a few election timeouts (they name
   * its successor: the stream is cancelled then), and a dead path to a live leader is left at
   * the stuck bound, with a third of the validity window left to renew through another node.
   */
  private async cancelIfFrozen(
    stream: grpc.ClientDuplexStream<object, unknown>,
    oldest: Sent,
  ): Promise<void> {
    if (this.askingNode) return;
    this.askingNode = true;
    try {
      await this.untilFrozen(stream, oldest);
    } finally {
      this.askingNode = false;
    }
  }

  /** untilFrozen is cancelIfFrozen's work, one at a time per client (askingNode). */
  private async untilFrozen(stream: grpc.ClientDuplexStream<object, unknown>, oldest: Sent): Promise<void> {
    const address = this.streamAddress;
    const current = (): boolean => !this.closed && stream === this.stream && this.sent[0] === oldest;
    let runs = this.router.isUnresponsive(address) ? false : await this.router.stillRuns(address);
    while (!runs && current() && performance.now() - oldest.sentAtMs < this.stuckAfterMs) {
      // A round: the node asked again, the others whether they still follow it, together.
      const askedAtMs = performance.now();
      const [answered, vouched] = await Promise.all([
        this.router.stillRuns(address, askedAtMs),
        this.router.othersFollow(address),
      ]);
      runs = answered;
      if (runs || !vouched) break;
      // Vouched for and still silent: the next round no sooner than a round's bound.
      const waitMs = askedAtMs + this.router.options.attemptTimeoutMs - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
    }
    if (runs || !current()) return;
    this.router.unresponsive(address);
    this.cancel(stream, 'node-silent');
  }

  /**
   * watchSilence arms the silence timer for the oldest unanswered request, if there is one and
   * none is armed: checkSilence looks at it once the stream's node has been silent for
   * attemptTimeoutMs since that request was sent (it answered nothing since, on any call or stream).
   */
  private watchSilence(): void {
    const oldest = this.sent[0];
    const stream = this.stream;
    if (this.silenceTimer !== undefined || stream === undefined || oldest === undefined) return;
    if (oldest === this.silenceChecked) return;
    const silentSinceMs = Math.max(oldest.sentAtMs, this.router.lastAnsweredAtMs(this.streamAddress));
    const delayMs = silentSinceMs + this.router.options.attemptTimeoutMs - performance.now();
    this.silenceTimer = setTimeout(
      () => {
        this.silenceTimer = undefined;
        this.checkSilence(stream, oldest);
      },
      Math.max(0, Math.ceil(delayMs)),
    );
    this.silenceTimer.unref();
  }

  /**
   * checkSilence handles a request left unanswered while its node answered nothing for
   * attemptTimeoutMs: the node is asked for its Status, and when it answers nothing in the
   * meantime either (frozen: SIGSTOP, a long pause) the stream is cancelled at once and reopened
   * on the leader the other nodes name, long before dropStuckStream's whole-interval bound. A node
   * that still answers — the Status, this stream's earlier requests, any other call — is only
   * slow, and keeps the stream: a leader behind on renewals answers them late but in order, and
   * cancelling would drop its work and send it all again (at 100,000 leases every client did so
   * within seconds and the leader collapsed, bench/README.md "scale"). A node already found
   * unresponsive (Router.unresponsive) is not asked again.
   */
  private checkSilence(stream: grpc.ClientDuplexStream<object, unknown>, request: Sent): void {
    const address = this.streamAddress;
    const heardRecently = this.router.answeredSince(
      address,
      performance.now() - this.router.options.attemptTimeoutMs,
    );
    if (stream !== this.stream || this.sent[0] !== request || heardRecently) {
      this.watchSilence();
      return;
    }
    this.silenceChecked = request;
    void this.cancelIfFrozen(stream, request);
  }

  /** stopWatchingSilence disarms the silence timer (the stream ended). */
  private stopWatchingSilence(): void {
    if (this.silenceTimer !== undefined) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    this.silenceChecked = undefined;
  }

  /**
   * probe sends an empty request when the stream carries release-on-reset leases and has sent
   * nothing for a probe interval: its answer proves the leader had not seen the stream reset
   * when the probe was sent (StreamProof), at the cost of a round trip and no Raft write.
   */
  private probe(): void {
    if (this.closed || this.reconnecting || this.resettable === 0 || this.stream === undefined) return;
    const now = performance.now();
    if (now - this.lastSentAtMs < this.probeEveryMs) return;
    this.write(this.stream, []);
  }

  /** sendAsked sends, on the next turn of the event loop, the leases that renew() callers wait for. */
  private sendAsked(): void {
    if (this.askedPending) return;
    this.askedPending = true;
    setImmediate(() => {
      this.askedPending = false;
      const asked: Lease[] = [];
      for (const key of this.waiters.keys()) {
        const lease = this.leases.get(key);
        if (lease !== undefined) asked.push(lease);
      }
      this.flush(asked);
    });
  }

  /**
   * flush sends those of `candidates` that are not in flight, when one of them is due (or asked
   * for): with it go the ones due before the next scan, so leases granted together share
   * requests. (Sending every lease due within half an interval, as before, renewed each lease
   * about twice per interval.)
   */
  private flush(candidates: Iterable<Lease>): void {
    if (this.closed || this.reconnecting) return;
    const now = performance.now();
    const due: Lease[] = [];
    let anyDue = false;
    for (const lease of candidates) {
      if (this.inFlight.has(lease.key)) continue;
      const dueAt = this.dueAt(lease);
      if (dueAt - this.scanEveryMs > now) continue;
      due.push(lease);
      if (dueAt <= now) anyDue = true;
    }
    if (anyDue) {
      if (this.stream === undefined && this.router.knownLeaderAddress === undefined && !this.discovered) {
        // Open the stream on the leader, not on a follower that would proxy every message.
        this.discovered = true;
        this.reconnecting = true;
        void this.router.discover().finally(() => {
          this.reconnecting = false;
          this.timerAt = Infinity;
          this.schedule(0);
        });
        return;
      }
      const fresh = due.filter((l) => !this.onStream.has(l.key)).length;
      if (this.stream !== undefined && this.onStream.size + fresh > LEASES_PER_STREAM) this.endStream();
      const stream = this.open();
      if (stream === undefined) return;
      const scatter = this.scatterNext;
      this.scatterNext = false;
      for (let i = 0; i < due.length; i += LEASES_PER_MESSAGE) {
        this.write(stream, due.slice(i, i + LEASES_PER_MESSAGE), scatter);
      }
    }
  }

  /**
   * write sends one request listing `batch` (empty: a probe) on `stream`; with `scatter`, the burst
   * after a failed stream, a coin toss for each lease says whether it is due early next time.
   */
  private write(
    stream: grpc.ClientDuplexStream<object, { results: WireKeepAliveResult[] }>,
    batch: readonly Lease[],
    scatter = false,
  ): void {
    const sentAtMs = performance.now();
    for (const lease of batch) {
      this.inFlight.add(lease.key);
      this.onStream.add(lease.key);
      if (this.earlyMs.size > 0) this.earlyMs.delete(lease.key);
      if (scatter && Math.random() < 0.5)
        this.earlyMs.set(lease.key, SCATTER_EARLY_SHARE * this.intervalOf(lease));
      if (this.proof !== undefined) lease.listed(this.proof);
      this.tell('sent', lease);
    }
    this.sent.push({ sentAtMs, leases: batch });
    this.watchSilence();
    this.lastSentAtMs = sentAtMs;
    stream.write({ leases: batch.map(wireLeaseRef) });
  }

  /** open returns the stream to the leader, opening it when there is none. */
  private open(): grpc.ClientDuplexStream<object, { results: WireKeepAliveResult[] }> | undefined {
    if (this.stream !== undefined) return this.stream;
    const address = this.router.pick();
    const client = this.router.stub(address, 'Leadership') as unknown as {
      KeepAlive(metadata: grpc.Metadata): grpc.ClientDuplexStream<object, { results: WireKeepAliveResult[] }>;
    };
    let metadata: grpc.Metadata;
    try {
      metadata = this.router.metadata();
    } catch (e) {
      // A token function failed: nothing can be sent. Those waiting hear why; the rest retry later.
      for (const list of [...this.waiters.values()]) for (const w of [...list]) w.reject(e);
      this.failures++;
      this.reconnectLater();
      return undefined;
    }
    const stream = client.KeepAlive(metadata);
    this.stream = stream;
    // The leader cannot see this stream reset before it receives a request, sent after now.
    this.proof = { provenAtMs: performance.now() };
    this.lastSentAtMs = Number.NEGATIVE_INFINITY;
    this.lastAnswerAtMs = Number.NEGATIVE_INFINITY;
    this.discovered = false;
    this.streamAddress = address;
    this.sent = [];
    this.onStream = new Set();
    stream.on('data', (response: { results: WireKeepAliveResult[] }) => this.onResponse(stream, response));
    stream.on('error', (e: unknown) => this.onStreamError(stream, e));
    stream.on('end', () => this.onStreamError(stream, undefined));
    return stream;
  }

  private onResponse(
    stream: grpc.ClientDuplexStream<object, { results: WireKeepAliveResult[] }>,
    response: { results: WireKeepAliveResult[] },
  ): void {
    if (stream !== this.stream) return;
    const request = this.sent.shift();
    if (request === undefined) return;
    this.lastAnswerAtMs = performance.now();
    this.router.heard(this.streamAddress);
    this.failures = 0;
    // Answers come in request order and stop when the leader sees the reset: it saw none before this send.
    const proof = this.proof!;
    proof.provenAtMs = Math.max(proof.provenAtMs, request.sentAtMs);
    request.leases.forEach((lease, i) => {
      this.inFlight.delete(lease.key);
      const result = response.results[i];
      if (result === undefined) this.tell('unanswered', lease, 'INTERNAL');
      else if (result.renewed) this.tell('renewed', lease);
      else this.tell('refused', lease, result.errorCode || 'NOT_RENEWED');
      if (result === undefined || lease.endedReason !== undefined) return;
      if (result.renewed) {
        lease.confirmed(request.sentAtMs, proof);
        const waiters = this.waiters.get(lease.key) ?? [];
        for (const w of [...waiters]) if (w.askedAtMs <= request.sentAtMs) w.resolve();
      } else if (result.errorCode === 'INVALID_ARGUMENT' && lease.releaseOnResetMs > 0) {
        lease.end(
          'refused',
          `the cluster refused release_on_reset_ms ${lease.releaseOnResetMs} (it must be 50..ttl)`,
        );
      } else {
        const current = result.currentFenceToken;
        lease.end(
          'refused',
          `the cluster refused its renewal (${result.errorCode || 'not renewed'}${current === undefined ? '' : `; the current fence is ${current}`}); campaign again`,
          current === undefined ? {} : { currentFenceToken: current },
        );
      }
    });
    this.watchSilence();
    // Callers still waiting (their lease was in flight when they asked) get a fresh send.
    if (this.waiters.size > 0) this.sendAsked();
    this.schedule();
  }

  /** cancel cancels the current `stream` for `reason`: its error, when it comes, carries the reason to what was in flight. */
  private cancel(stream: grpc.ClientDuplexStream<object, unknown>, reason: CancelReason): void {
    this.cancelReasons.set(stream, reason);
    stream.cancel();
  }

  /** onStreamError retires a failed stream and reconnects (its unanswered leases go again at once). */
  private onStreamError(stream: grpc.ClientDuplexStream<object, unknown>, e: unknown): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.stopWatchingSilence();
    // The failed stream's proof stays frozen in its leases until each is renewed on the next one.
    this.proof = undefined;
    const error = e === undefined ? undefined : fromGrpcError(e, this.streamAddress);
    this.dropSent(error?.code ?? 'UNAVAILABLE', this.cancelReasons.get(stream));
    if (this.closed || this.leases.size === 0) return;
    this.scatterNext = true;
    this.failures++;
    this.router.noteFailure(this.streamAddress, error);
    this.reconnectLater();
  }

  /** reconnectLater opens the next stream after a backoff (at once after a first failure with a known leader). */
  private reconnectLater(): void {
    this.reconnecting = true;
    const wait =
      this.failures <= 1 && this.router.knownLeaderAddress !== undefined
        ? 0
        : backoffMs(this.failures, this.options);
    const timer = setTimeout(() => {
      void (
        this.router.knownLeaderAddress === undefined ? this.router.discover() : Promise.resolve()
      ).finally(() => {
        this.reconnecting = false;
        this.timerAt = Infinity;
        this.schedule(0);
      });
    }, wait);
    timer.unref();
  }

  /** endStream half-closes the stream cleanly (the leader keeps the leases until their TTL). */
  private endStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    this.stopWatchingSilence();
    this.proof = undefined;
    this.dropSent('CANCELLED');
    this.onStream = new Set();
    stream?.end();
  }

  /** dropSent forgets the requests still unanswered on a stream that ended (`code`, and `reason` when the SDK cancelled it: why). */
  private dropSent(code: string, reason?: CancelReason): void {
    for (const request of this.sent) {
      for (const lease of request.leases) {
        this.inFlight.delete(lease.key);
        this.tell('unanswered', lease, code, reason);
      }
    }
    this.sent = [];
  }

  /** tell hands a RenewalEvent to onRenewal, if any; an observer's failure never stops renewals. */
  private tell(type: RenewalEvent['type'], lease: Lease, code?: string, reason?: CancelReason): void {
    const onRenewal = this.options.onRenewal;
    if (onRenewal === undefined) return;
    try {
      onRenewal({
        type,
        scope: lease.scope,
        fence: lease.fence,
        node: this.streamAddress,
        ...(code === undefined ? {} : { code }),
        ...(reason === undefined ? {} : { reason }),
      });
    } catch {
      // An observer is told, not consulted.
    }
  }
}
