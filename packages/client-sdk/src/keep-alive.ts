import type * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { OmniRelayError, fromGrpcError } from './errors';
import type { Lease } from './lease';
import type { Router } from './router';
import { backoffMs } from './router';
import type { WireKeepAliveResult } from './wire';
import { big } from './wire';

/** LEASES_PER_MESSAGE is the most leases one KeepAlive request lists (the server allows 1,000). */
const LEASES_PER_MESSAGE = 1000;

/**
 * LEASES_PER_STREAM is how many distinct leases one stream carries before the SDK rotates to a
 * fresh stream (the server allows 10,000 per stream and counts every lease it has renewed).
 */
const LEASES_PER_STREAM = 9000;

/** KeepAliveOptions bound the renewal loop. */
export interface KeepAliveOptions {
  readonly skewMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
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
 * network cut) the SDK reconnects to the leader with capped backoff and renews at once; a lease
 * whose renewal cannot be confirmed before its conservative deadline ends on its own (Lease).
 */
export class KeepAlive {
  private readonly leases = new Map<string, Lease>();
  private readonly inFlight = new Set<string>();
  private readonly waiters = new Map<string, Waiter[]>();
  private stream: grpc.ClientDuplexStream<object, { results: WireKeepAliveResult[] }> | undefined;
  private streamAddress = '';
  private sent: Sent[] = [];
  /** onStream holds the key of each lease sent on the current stream (the server counts them). */
  private onStream = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private failures = 0;
  private reconnecting = false;
  /** discovered: the leader was looked up for the stream being opened (once per stream). */
  private discovered = false;
  /** scanEveryMs is how often all leases are scanned for renewal: a quarter of the shortest interval. */
  private scanEveryMs = Infinity;
  private askedPending = false;
  private closed = false;

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
    this.leases.set(lease.key, lease);
    this.scanEveryMs = Math.min(this.scanEveryMs, Math.max(5, this.intervalOf(lease) / 4));
    this.schedule();
  }

  /** remove stops renewing `lease` (it ended); waiters of renew() are rejected. */
  remove(lease: Lease, reason: unknown): void {
    this.leases.delete(lease.key);
    this.inFlight.delete(lease.key);
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

  /** dueAt is when `lease` should next be sent (monotonic). */
  private dueAt(lease: Lease): number {
    if ((this.waiters.get(lease.key)?.length ?? 0) > 0) return 0;
    return lease.confirmedAtMs + this.intervalOf(lease);
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
        this.schedule();
      },
      Math.max(0, Math.ceil(at - performance.now())),
    );
  }

  /**
   * dropStuckStream cancels a stream whose oldest request has gone unanswered for a whole renewal
   * interval (four scan ticks): the connection may be alive while the path behind it is not (a
   * proxy, a node that lost its leader), and waiting longer would let leases lapse. The stream's
   * error then reconnects, to the leader, and renews everything that was in flight.
   */
  private dropStuckStream(): void {
    const oldest = this.sent[0];
    if (this.stream === undefined || oldest === undefined) return;
    if (performance.now() - oldest.sentAtMs < this.scanEveryMs * 4) return;
    this.stream.cancel();
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

  /** flush sends those of `candidates` that are due (or soon due, or asked for) and not in flight. */
  private flush(candidates: Iterable<Lease>): void {
    if (this.closed || this.reconnecting) return;
    const now = performance.now();
    const due: Lease[] = [];
    for (const lease of candidates) {
      if (this.inFlight.has(lease.key)) continue;
      // Leases due within half an interval go now, so leases granted together share requests.
      if (this.dueAt(lease) - this.intervalOf(lease) / 2 <= now) due.push(lease);
    }
    if (due.length > 0) {
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
      for (let i = 0; i < due.length; i += LEASES_PER_MESSAGE) {
        const batch = due.slice(i, i + LEASES_PER_MESSAGE);
        const sentAtMs = performance.now();
        for (const lease of batch) {
          this.inFlight.add(lease.key);
          this.onStream.add(lease.key);
        }
        this.sent.push({ sentAtMs, leases: batch });
        stream.write({
          leases: batch.map((l) => ({
            scope: l.scope,
            fenceToken: l.fence.toString(),
            releaseOnResetMs: l.releaseOnResetMs,
          })),
        });
      }
    }
  }

  /** open returns the stream to the leader, opening it when there is none. */
  private open(): grpc.ClientDuplexStream<object, { results: WireKeepAliveResult[] }> | undefined {
    if (this.stream !== undefined) return this.stream;
    const address = this.router.pick();
    const client = this.router.stub(address, 'Leadership') as unknown as {
      KeepAlive(metadata: grpc.Metadata): grpc.ClientDuplexStream<object, { results: WireKeepAliveResult[] }>;
    };
    const stream = client.KeepAlive(this.router.metadata());
    this.stream = stream;
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
    this.failures = 0;
    request.leases.forEach((lease, i) => {
      this.inFlight.delete(lease.key);
      const result = response.results[i];
      if (result === undefined || lease.endedReason !== undefined) return;
      if (result.renewed) {
        lease.confirmed(request.sentAtMs);
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
          `the cluster refused its renewal (${result.errorCode || 'not renewed'}${current === undefined || current === null ? '' : `; the current fence is ${current}`}); campaign again`,
          current === undefined || current === null ? {} : { currentFenceToken: big(current) },
        );
      }
    });
    // Callers still waiting (their lease was in flight when they asked) get a fresh send.
    if (this.waiters.size > 0) this.sendAsked();
    this.schedule();
  }

  /** onStreamError retires a failed stream and reconnects (its unanswered leases go again at once). */
  private onStreamError(stream: grpc.ClientDuplexStream<object, unknown>, e: unknown): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    for (const request of this.sent) for (const lease of request.leases) this.inFlight.delete(lease.key);
    this.sent = [];
    if (this.closed || this.leases.size === 0) return;
    this.failures++;
    this.router.noteFailure(
      this.streamAddress,
      e === undefined ? undefined : fromGrpcError(e, this.streamAddress),
    );
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
    for (const request of this.sent) for (const lease of request.leases) this.inFlight.delete(lease.key);
    this.sent = [];
    this.onStream = new Set();
    stream?.end();
  }
}
