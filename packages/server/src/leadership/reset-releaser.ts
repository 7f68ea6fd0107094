import type { LeaseRef } from '@omnirelay/leadership-fsm';
import type { Logger } from 'pino';
import { leaseKey } from './renewal-batcher';

/** RELEASE_ON_RESET_MS_MIN is the shortest release-on-reset grace a holder may ask for. */
export const RELEASE_ON_RESET_MS_MIN = 50;

/**
 * RELEASE_ON_RESET_PENDING_MAX bounds the release timers the leader keeps at once: four KeepAlive
 * streams' worth of leases (KEEPALIVE_LEASES_PER_STREAM_MAX is 10,000). A reset past the bound
 * arms nothing for the leases that do not fit; they fall back to TTL expiry, which is always safe.
 */
export const RELEASE_ON_RESET_PENDING_MAX = 40_000;

/** ResetRelease is one lease to release if it is not renewed within `graceMs`. */
export interface ResetRelease {
  readonly lease: LeaseRef;
  readonly graceMs: number;
}

/** ReleaseLease proposes the release of one lease by its fence; it resolves when committed or refused. */
export type ReleaseLease = (lease: LeaseRef) => Promise<void>;

interface Pending {
  readonly lease: LeaseRef;
  readonly timer: NodeJS.Timeout;
}

/**
 * ResetReleaser runs on the Raft leader only and keeps its state in memory. When a KeepAlive
 * stream that renewed leases with `release_on_reset_ms` ends abnormally (cancelled or failed,
 * not half-closed), `arm` starts one timer per such lease; a renewal of the lease on any stream
 * (`cancel`) stops it; when it fires, the lease is released by its fence, so a crashed holder is
 * replaced well under its TTL while a blip shorter than the grace costs nothing.
 *
 * Only the stream that listed a lease last may release it (`claim`): a holder that reconnects
 * renews on a new stream, and the old stream's reset may be seen after that renewal (its
 * connection died without a word and is noticed late); arming a timer then would release a lease
 * whose holder was just told it is renewed for a full TTL, and is not expecting a release at all.
 *
 * A Raft leader change drops every timer (`setLeader(false)`): the new leader knows nothing of
 * them and falls back to TTL expiry, which is always safe (it only delays a successor). Releasing
 * by fence is safe too: a lease re-granted in between has a new fence, which the release cannot touch.
 */
export class ResetReleaser {
  private readonly pending = new Map<string, Pending>();
  /** owners holds, per lease key, the stream (any object) that listed it last with a grace (see claim). */
  private readonly owners = new Map<string, object>();
  private leading: boolean;

  constructor(
    private readonly release: ReleaseLease,
    private readonly logger: Logger,
    isLeader: boolean,
    private readonly pendingMax: number = RELEASE_ON_RESET_PENDING_MAX,
  ) {
    this.leading = isLeader;
  }

  /** pendingCount is the number of armed timers (at most the bound given at construction). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** setLeader starts (true) or stops (false) the releaser; stopping drops every timer. */
  setLeader(isLeader: boolean): void {
    this.leading = isLeader;
    if (!isLeader) this.clear();
  }

  /** ownerCount is the number of leases claimed by a stream (at most the live ones listed with a grace). */
  get ownerCount(): number {
    return this.owners.size;
  }

  /**
   * claim records that `owner` (a KeepAlive stream) listed the lease with a release-on-reset
   * grace, taking it over from any earlier stream: only the owner's reset may arm its timer.
   */
  claim(owner: object, key: string): void {
    this.owners.set(key, owner);
  }

  /** disown forgets `owner`'s claim on the lease (it half-closed, or the lease stopped renewing), if still its own. */
  disown(owner: object, key: string): void {
    if (this.owners.get(key) === owner) this.owners.delete(key);
  }

  /**
   * arm starts a timer for each lease (re-arming one already pending with the new grace); leases
   * past RELEASE_ON_RESET_PENDING_MAX are left to TTL expiry and logged. With `owner` (the stream
   * that was reset), only the leases it still owns are armed, and its claims end. Off the leader
   * it arms nothing.
   */
  arm(releases: Iterable<ResetRelease>, owner?: object): void {
    let armed = 0;
    let dropped = 0;
    for (const { lease, graceMs } of releases) {
      const key = leaseKey(lease);
      if (owner !== undefined) {
        if (this.owners.get(key) !== owner) continue;
        this.owners.delete(key);
      }
      if (!this.leading) continue;
      const previous = this.pending.get(key);
      if (previous !== undefined) clearTimeout(previous.timer);
      else if (this.pending.size >= this.pendingMax) {
        dropped++;
        continue;
      }
      const timer = setTimeout(() => this.fire(key), graceMs);
      timer.unref();
      this.pending.set(key, { lease, timer });
      armed++;
    }
    if (dropped > 0) {
      this.logger.warn(
        { dropped, pendingMax: this.pendingMax },
        'too many release-on-reset timers pending; those leases will expire at their TTL instead',
      );
    }
    if (armed > 0) this.logger.debug({ leases: armed }, 'a KeepAlive stream was reset; release timers armed');
  }

  /** cancel stops the timer of a lease that was renewed (on any stream, or over HTTP). */
  cancel(lease: LeaseRef): void {
    if (this.pending.size === 0) return;
    const key = leaseKey(lease);
    const p = this.pending.get(key);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.pending.delete(key);
  }

  /** stop drops every timer and claim for good (server shutdown). */
  stop(): void {
    this.leading = false;
    this.clear();
    this.owners.clear();
  }

  private clear(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private fire(key: string): void {
    const p = this.pending.get(key);
    if (p === undefined) return;
    this.pending.delete(key);
    if (!this.leading) return;
    const { scope, fenceToken } = p.lease;
    this.release(p.lease).then(
      () =>
        this.logger.info(
          { scope, fence: fenceToken.toString() },
          'released a lease whose KeepAlive stream was reset and not re-established in its grace',
        ),
      (e: unknown) =>
        // STALE_FENCE: the lease ended meanwhile. Anything else: TTL expiry takes over.
        this.logger.debug(
          { scope, fence: fenceToken.toString(), err: e instanceof Error ? e.message : String(e) },
          'release-on-reset did not release the lease',
        ),
    );
  }
}
