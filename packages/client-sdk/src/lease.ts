import { performance } from 'node:perf_hooks';
import { OmniRelayError } from './errors';
import type { LeaseView } from './wire';

/**
 * LeaseEndReason says why a Lease ended:
 * - resigned: the holder resigned it;
 * - refused: the cluster refused a renewal (the lease expired there, was stepped down, or
 *   another candidate holds the scope);
 * - unconfirmed: no renewal was confirmed in time, so the lease may be about to lapse on the
 *   cluster (see Lease.signal);
 * - closed: the client was closed;
 * - failover: the client moved to another cluster of an active/passive group (the lease's
 *   cluster is no longer the active one, and the new active's fences dominate it).
 */
/** leaseKey names one held lease within a client: its scope and fence. */
export function leaseKey(scope: string, fence: bigint): string {
  return `${scope}\u0000${fence}`;
}

export type LeaseEndReason = 'resigned' | 'refused' | 'unconfirmed' | 'closed' | 'failover';

/**
 * StreamProof is what a client knows of one KeepAlive stream's life on the Raft leader:
 * `provenAtMs` is a monotonic time (performance.now) no later than the moment the leader could
 * first observe that stream's reset. The leader arms a lease's release-on-reset timer when it
 * observes the reset, and it answers requests on a stream only until then, so the send time of
 * the latest answered request qualifies (and, before any answer, the time the stream was opened:
 * a timer needs at least one request received). The send time of the latest request does NOT
 * qualify: the leader may have seen the reset before that request, which never reached it.
 * KeepAlive raises `provenAtMs` as answers arrive and freezes it when the stream fails.
 */
export interface StreamProof {
  provenAtMs: number;
}

/** LeaseHooks is how a Lease reaches its client (renewal and resignation). */
export interface LeaseHooks {
  renew(lease: Lease): Promise<void>;
  /** resign resolves true when the cluster removed the holder, false when it was no longer the holder. */
  resign(lease: Lease): Promise<boolean>;
  /** ended tells the client the lease is over (it stops renewing it); `error` is what `signal` aborts with next. */
  ended(lease: Lease, reason: LeaseEndReason, error: OmniRelayError): void;
}

/**
 * Lease is a held scope. It is valid until `signal` aborts. The SDK renews it automatically
 * over the client's KeepAlive stream and aborts `signal`:
 * - before the lease can lapse: at `send time of the last confirmed renewal + ttl − max clock
 *   skew` (monotonic clock), unless a later renewal was confirmed by then (DESIGN.md "Time");
 * - with releaseOnResetMs, also before the leader can release it after a KeepAlive reset: at
 *   `StreamProof.provenAtMs + releaseOnResetMs − max clock skew` of the stream that last
 *   carried it (see localDeadlineMs);
 * - as soon as the cluster refuses a renewal;
 * - when it is resigned or the client closes.
 *
 * Stop acting as the holder when `signal` aborts, and carry `fence` on every write to the
 * resources you guard, so a write that races the abort is still rejected downstream.
 */
export class Lease {
  readonly scope: string;
  /** leaderId is the candidate holding the lease (the DISC-002 name; the same value as candidateId). */
  readonly leaderId: string;
  readonly candidateId: string;
  /** sessionId is the client session the lease belongs to (the client's `sessionId`). */
  readonly sessionId: string;
  readonly metadata: string;
  /** fence is the fence token: strictly greater than any earlier holder's of the scope. */
  readonly fence: bigint;
  /** fenceToken is fence under its DISC-002 name (the same value; both stay). */
  readonly fenceToken: bigint;
  /** term counts the scope's holder changes up to and including this grant. */
  readonly term: bigint;
  readonly ttlMs: number;
  /** revision is the Raft index of the grant (equal to fence). */
  readonly revision: bigint;
  /** raftTerm is the Raft term of the entry that granted the lease (0 when the server did not say). */
  readonly raftTerm: bigint;
  /** releaseOnResetMs asks the leader to release the lease this long after its KeepAlive stream resets (0: off). */
  readonly releaseOnResetMs: number;
  /** key identifies the lease within a client (scope and fence). */
  readonly key: string;
  /** signal aborts when the lease ends; its reason is an OmniRelayError with code LEASE_LOST. */
  readonly signal: AbortSignal;

  private readonly controller = new AbortController();
  /** confirmedAt is the monotonic send time of the request behind the last confirmed grant or renewal. */
  private confirmedAt: number;
  /**
   * proof is the StreamProof of the only KeepAlive stream whose reset may still release this
   * lease: the stream of its last confirmed renewal, or, before one, the first stream it was
   * listed on with releaseOnResetMs (undefined: never listed, so no release timer can exist).
   * A release timer of an earlier stream is cancelled by the renewal confirmed on a later one.
   */
  private proof: StreamProof | undefined;
  private timer: NodeJS.Timeout | undefined;
  private endReason: LeaseEndReason | undefined;

  constructor(
    view: LeaseView,
    options: {
      raftTerm: bigint;
      releaseOnResetMs: number;
      confirmedAtMs: number | undefined;
      skewMs: number;
      /** ttlMarginMs is what the TTL bound keeps back: the skew plus ttl × the cluster's drift bound (default: skewMs). */
      ttlMarginMs?: number;
    },
    private readonly hooks: LeaseHooks,
  ) {
    this.scope = view.scope;
    this.leaderId = view.leaderId;
    this.candidateId = view.candidateId;
    this.sessionId = view.sessionId;
    this.metadata = view.metadata;
    this.fence = view.fence;
    this.fenceToken = view.fence;
    this.key = leaseKey(view.scope, view.fence);
    this.term = view.term;
    this.ttlMs = view.ttlMs;
    this.revision = view.revision;
    this.raftTerm = options.raftTerm;
    this.releaseOnResetMs = options.releaseOnResetMs;
    this.skewMs = options.skewMs;
    this.ttlMarginMs = options.ttlMarginMs ?? options.skewMs;
    this.confirmedAt = options.confirmedAtMs ?? Number.NEGATIVE_INFINITY;
    this.signal = this.controller.signal;
    // A provisional lease (no confirmed send time yet) is not valid until its first renewal.
    if (options.confirmedAtMs !== undefined) this.arm();
  }

  private readonly skewMs: number;
  private readonly ttlMarginMs: number;

  /** confirmedAtMs is the monotonic send time of the request behind the last confirmed grant or renewal. */
  get confirmedAtMs(): number {
    return this.confirmedAt;
  }

  /**
   * localDeadlineMs is the monotonic time (performance.now) when `signal` aborts unless renewed:
   * the TTL bound, and with releaseOnResetMs the release-on-reset bound (resetDeadlineMs).
   */
  get localDeadlineMs(): number {
    return Math.min(this.confirmedAt + this.ttlMs - this.ttlMarginMs, this.resetDeadlineMs);
  }

  /**
   * resetDeadlineMs is the earliest the leader may release the lease after a reset of the
   * stream that last carried it, less the max clock skew: `provenAtMs + releaseOnResetMs − skew`
   * (Infinity without releaseOnResetMs or before the lease was listed on a stream). It holds
   * whether or not the client has seen the reset yet: the leader can see a reset first (a path
   * that died on its side only), so the bound moves on only while answers keep coming.
   */
  get resetDeadlineMs(): number {
    if (this.releaseOnResetMs === 0 || this.proof === undefined) return Number.POSITIVE_INFINITY;
    return this.proof.provenAtMs + this.releaseOnResetMs - this.skewMs;
  }

  /** provenBy tells whether `proof`'s stream is the one whose reset may release the lease. */
  provenBy(proof: StreamProof | undefined): boolean {
    return proof !== undefined && this.proof === proof;
  }

  /** remainingMs is how long the lease is still proven valid (≤ 0 once it is not). */
  remainingMs(): number {
    if (this.endReason !== undefined) return 0;
    return this.localDeadlineMs - performance.now();
  }

  /**
   * isValid checks, synchronously and against the clock, that the lease is still proven: call it
   * right before acting (a timer can fire late after a long pause; this cannot).
   */
  isValid(): boolean {
    return this.remainingMs() > 0;
  }

  /**
   * expiresAt is the wall-clock estimate of when `signal` aborts unless renewed: the holder's own
   * conservative bound, earlier than the cluster's deadline (a LeaseView's `expiresAt`), so it
   * stays a Date and keeps its meaning.
   */
  get expiresAt(): Date {
    return new Date(Date.now() + Math.max(0, this.remainingMs()));
  }

  /** endedReason says why the lease ended, or undefined while it is held. */
  get endedReason(): LeaseEndReason | undefined {
    return this.endReason;
  }

  /** renew renews the lease now (it is renewed automatically; this is for callers that want a fresh confirmation). */
  renew(): Promise<void> {
    return this.hooks.renew(this);
  }

  /**
   * resign gives the scope up (the best waiting candidate takes over) and aborts `signal`. It
   * resolves true when this call removed the holder on the cluster, false when there was nothing
   * to remove: the lease had already ended here, or the cluster answered that it no longer held
   * the scope (an answer a retry also gets after an attempt whose reply was lost, so false does
   * not prove that this call changed nothing).
   */
  async resign(): Promise<boolean> {
    if (this.endReason !== undefined) return false;
    try {
      return await this.hooks.resign(this);
    } finally {
      this.end('resigned', 'the lease was resigned');
    }
  }

  /**
   * listed records that the lease was sent with releaseOnResetMs on the stream of `proof`: from
   * then on, that stream's reset may release it. Only the first stream counts until a renewal
   * is confirmed (an earlier stream's timer is the earlier one), so the deadline can only come
   * closer here, and the abort timer is re-armed.
   */
  listed(proof: StreamProof): void {
    if (this.endReason !== undefined || this.releaseOnResetMs === 0 || this.proof !== undefined) return;
    this.proof = proof;
    if (this.timer !== undefined) this.arm();
  }

  /**
   * confirmed records a renewal (or grant) confirmed for a request sent at `sentAtMs`
   * (monotonic), on the stream of `proof` when it came over KeepAlive: the leader cancelled the
   * release timer of any earlier stream when it received that renewal.
   */
  confirmed(sentAtMs: number, proof?: StreamProof): void {
    if (this.endReason !== undefined) return;
    if (proof !== undefined && this.releaseOnResetMs > 0) this.proof = proof;
    if (sentAtMs <= this.confirmedAt) return;
    this.confirmedAt = sentAtMs;
    // An armed timer stays: it fires at the old deadline, finds the new one later, and re-arms.
    // So a lease renewed many times per TTL costs one timer per TTL, not one per renewal.
    if (this.timer === undefined) this.arm();
  }

  /** end ends the lease once: the timer stops, the client forgets it, and `signal` aborts. */
  end(reason: LeaseEndReason, message: string, details: { currentFenceToken?: bigint } = {}): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    // One error for the client and the signal: building one costs a stack trace, once per lease end.
    const error = new OmniRelayError(
      'LEASE_LOST',
      `lease on ${this.scope} (fence ${this.fence}) ended: ${message}`,
      details,
    );
    // The client forgets the lease before `signal` aborts: a listener that acquires the scope again gets a new one.
    this.hooks.ended(this, reason, error);
    this.controller.abort(error);
  }

  /** arm sets the abort timer at the local deadline. */
  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const wait = this.localDeadlineMs - performance.now();
    if (wait <= 0) {
      this.timer = undefined;
      this.end('unconfirmed', this.unconfirmedMessage());
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (performance.now() >= this.localDeadlineMs) this.end('unconfirmed', this.unconfirmedMessage());
      else this.arm();
    }, Math.ceil(wait));
    this.timer.unref();
  }

  private unconfirmedMessage(): string {
    if (this.resetDeadlineMs < this.confirmedAt + this.ttlMs - this.ttlMarginMs) {
      return `its KeepAlive stream was not proven alive within release_on_reset_ms ${this.releaseOnResetMs} ms − max clock skew ${this.skewMs} ms, so the cluster may have released it; stop acting as its holder and campaign again`;
    }
    return `no renewal was confirmed within ttl ${this.ttlMs} ms − ${this.ttlMarginMs} ms (max clock skew and drift), so the cluster may give the scope to another candidate; stop acting as its holder and campaign again`;
  }
}
