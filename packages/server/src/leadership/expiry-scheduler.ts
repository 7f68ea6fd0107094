import { randomUUID } from 'node:crypto';
import type { LeaseRef } from '@omnirelay/leadership-fsm';
import { DUE_LEASES_MAX, EXPIRE_BATCH_MAX, LEASE_BATCH_BYTES_MAX } from '@omnirelay/leadership-fsm';
import type { Logger } from 'pino';
import type { LeadershipService } from './leadership-service';
import type { LeadershipStateMachine } from './leadership-state-machine';
import { chunkLeases } from './lease-batches';
import { leaseKey } from './renewal-batcher';
import { INTERNAL_TRANSPORT, withTransport } from './request-origin';

/** ExpirySchedulerOptions are the timings the scheduler works with. */
export interface ExpirySchedulerOptions {
  /**
   * graceMs is what a new leader (or a leader back from a stall) gives every live lease:
   * at least the election timeout (renewals could not get through while there was no leader)
   * plus the maximum clock skew.
   */
  readonly graceMs: number;
  /**
   * graceCapMs bounds every grace per lease: never past its last renewal + TTL + graceCapMs,
   * so a lease whose holder stopped renewing is freed within TTL + graceCapMs of its last
   * renewal however often leadership changes or the leader stalls (etcd issue 9888). The
   * server passes the election timeout.
   */
  readonly graceCapMs: number;
  /** stallThresholdMs: an event-loop pause longer than this counts as a stall (GC, SIGSTOP, slow disk). */
  readonly stallThresholdMs: number;
  /** nowMs reads lease time (default: the state machine's StampClock; injected for tests). */
  readonly nowMs?: () => number;
}

type State = 'off' | 'granting' | 'active';

const MONITOR_INTERVAL_MS = 20;

/**
 * EXPIRE_RETRY_MS is how long the scheduler waits before it looks again after an expire batch
 * did not commit, or when every due lease is left alone (quarantined or being renewed), so a
 * failure is never retried in a tight loop.
 */
export const EXPIRE_RETRY_MS = 50;

/**
 * EXPIRE_IDLE_RETRY_MS_MAX bounds the wait between rounds that found every due lease left alone:
 * from EXPIRE_RETRY_MS it doubles each such round up to this, and falls back to EXPIRE_RETRY_MS
 * once a round expires something or finds nothing due. A leader behind on renewals has many
 * leases past their deadline with a renewal queued; each round takes the earliest due ones out of
 * the deadline index and puts them back (at most DUE_LEASES_MAX, two heap moves each), and every 50
 * ms those rounds took 14% of an overloaded leader's busy time at 100,000 leases (3.9 s of 27.6 s
 * in the 50 s before its leases lapsed, its V8 profile), for nothing: those leases are renewed once their renewals commit, and every apply re-arms the timer.
 * A lease that is really due behind them waits at most this much longer.
 */
export const EXPIRE_IDLE_RETRY_MS_MAX = 800;

/**
 * EXPIRE_QUARANTINE_MAX bounds the leases the scheduler leaves alone because their expiry cannot
 * be proposed even alone. It is below DUE_LEASES_MAX, so quarantined leases can never fill a
 * whole round of due leases and starve the others.
 */
export const EXPIRE_QUARANTINE_MAX = 1024;

/**
 * ExpiryScheduler runs on the Raft leader only. It keeps one timer at the earliest lease
 * deadline and, when it fires, proposes one Expire batch (re-checked at apply against the entry
 * stamp and the fence, so a renewal that committed first keeps its lease).
 *
 * Two rules keep it from expiring a live lease early:
 * - Taking office: before any expiry, a new leader proposes a grace (`max(deadline, min(took
 *   office + graceMs, last renewal + TTL + graceCapMs))`): renewals could not get through while
 *   there was no leader. The cap keeps a dead holder's lease from living on under leader churn;
 *   it never moves a deadline back, so no lease ends before its last renewal + TTL, which is
 *   after the moment its holder's SDK stops trusting it (send time + TTL − max skew).
 * - A stalled leader: a monitor notices event-loop pauses longer than stallThresholdMs. After
 *   one, the leader gives every lease the same grace as on taking office, but locally: until
 *   the stall's end + graceMs it proposes the expiry of no lease that is not also past its last
 *   renewal + TTL + graceCapMs, because renewals sent during the pause may still be waiting in
 *   its sockets. It changes no deadline: only the leader proposes expiries, so holding them
 *   back has the same effect as a replicated grace, and it costs nothing per lease (a
 *   replicated grace walked every lease on every replica: at 85,000 leases 0.3–1.3 s, itself a
 *   stall past the threshold, so each grace brought the next). The timer's callback also
 *   defers the expiry with setImmediate, so the poll phase reads those sockets (and queues
 *   their renewals) first; leases with a renewal queued or in flight are left alone.
 * Why this is safe: expiry never changes who may act — fences do. A late expiry only delays a
 * successor; an early one is what these rules prevent.
 *
 * The timer is armed at the state machine's `deadlineLowerBoundMs`, which costs nothing to ask
 * after every apply: often a renewed lease's previous deadline, so it fires early, `expiredLeases`
 * finds nothing due (it re-keys the leases whose previous deadline passed, a budget of moves per
 * call, DEADLINE_INDEX_MOVES_MAX), and the scheduler arms again, one budget per timer turn,
 * instead of one long task (after a grace that extended most leases too).
 *
 * One round proposes at most LEASE_BATCH_BYTES_MAX of due leases (the rest go in the next
 * round). A batch refused for its content is split, and a lease whose expiry cannot be proposed
 * even alone is quarantined (logged, counted, left to its holder or the next leader, at most
 * EXPIRE_QUARANTINE_MAX of them), so one bad lease cannot stop every other lease from expiring.
 * A batch that failed for any other reason is retried after EXPIRE_RETRY_MS.
 */
export class ExpiryScheduler {
  private state: State = 'off';
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = 0;
  private readonly monitor: NodeJS.Timeout;
  private lastBeatMs: number;
  /**
   * stallGraceUntilMs (stamp clock): after a stall, no lease is expired before this unless it is
   * past its last renewal + TTL + graceCapMs (0: no stall since this node took office).
   */
  private stallGraceUntilMs = 0;
  private expiring = false;
  /** idleRetryMs is the wait before the next round after one that found every due lease left alone (doubling). */
  private idleRetryMs = EXPIRE_RETRY_MS;
  /** quarantine holds leaseKey of leases whose expiry could not be proposed even alone; cleared on a leadership change. */
  private readonly quarantine = new Set<string>();
  /** retryAtMs: the timer fires no earlier than this (after a failed or empty round). */
  private retryAtMs = 0;
  private readonly nowMs: () => number;

  constructor(
    private readonly service: LeadershipService,
    private readonly sm: LeadershipStateMachine,
    private readonly options: ExpirySchedulerOptions,
    private readonly logger: Logger,
  ) {
    this.nowMs = options.nowMs ?? (() => sm.clock.now());
    this.lastBeatMs = performance.now();
    this.monitor = setInterval(() => this.beat(), MONITOR_INTERVAL_MS);
    this.monitor.unref();
  }

  /** onLeadership starts (proposing the take-office grace) or stops the scheduler. */
  onLeadership(isLeader: boolean): void {
    // A new term gives quarantined leases another chance (the cluster may have changed meanwhile).
    this.quarantine.clear();
    this.retryAtMs = 0;
    this.idleRetryMs = EXPIRE_RETRY_MS;
    if (!isLeader) {
      this.state = 'off';
      this.clearTimer();
      return;
    }
    void this.grantGrace('took office');
  }

  /** onApplied re-arms the timer after the state changed (new lease, renewal, expiry). */
  onApplied(): void {
    if (this.state === 'active') this.arm();
  }

  /** stop ends the scheduler (server shutdown). */
  stop(): void {
    this.state = 'off';
    this.clearTimer();
    clearInterval(this.monitor);
  }

  private beat(): void {
    // The monotonic clock: a wall clock stepped forward is no stall.
    const now = performance.now();
    const lagMs = now - this.lastBeatMs - MONITOR_INTERVAL_MS;
    this.lastBeatMs = now;
    if (lagMs > this.options.stallThresholdMs) {
      this.stallGraceUntilMs = Math.max(this.stallGraceUntilMs, this.nowMs() + this.options.graceMs);
      this.logger.warn(
        { stallMs: lagMs, graceMs: this.options.graceMs, graceCapMs: this.options.graceCapMs },
        'the event loop stalled; for graceMs no lease is expired unless it is also past its last renewal + TTL + graceCapMs (renewals may be waiting in sockets)',
      );
    }
  }

  private async grantGrace(why: string): Promise<void> {
    this.state = 'granting';
    this.clearTimer();
    this.stallGraceUntilMs = 0;
    try {
      const tookOfficeStampMs = this.nowMs();
      await withTransport(INTERNAL_TRANSPORT, () =>
        this.service.propose({
          type: 'grace',
          correlationId: `grace-${randomUUID()}`,
          tookOfficeStampMs,
          graceMs: this.options.graceMs,
          capMs: this.options.graceCapMs,
        }),
      );
      if (this.state !== 'granting') return;
      this.logger.info(
        { graceMs: this.options.graceMs, why },
        'granted every live lease a grace; expiry is active',
      );
      this.state = 'active';
      this.arm();
    } catch (e) {
      if (this.state !== 'granting') return;
      // Not committed (lost leadership, no quorum): try again shortly while still leading.
      this.logger.warn(
        { err: e instanceof Error ? e.message : String(e) },
        'the grace did not commit; retrying',
      );
      setTimeout(() => {
        if (this.state === 'granting') void this.grantGrace(why);
      }, 100).unref();
    }
  }

  private arm(): void {
    const nextMs = this.sm.fsm.deadlineLowerBoundMs();
    if (nextMs === null) {
      this.clearTimer();
      return;
    }
    const dueMs = Math.max(nextMs, this.retryAtMs);
    if (this.timer !== undefined && this.timerDueMs === dueMs) return;
    this.clearTimer();
    this.timerDueMs = dueMs;
    // setTimeout, not a periodic scan: expiry happens at the deadline (issue: TTL + 100 ms failover).
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        // Let the poll phase read sockets first: renewals that arrived while the timer was due get queued.
        setImmediate(() => void this.expireDue());
      },
      Math.max(0, dueMs - this.nowMs() + 1),
    );
  }

  /**
   * stallGraceEndMs is when the stall grace lets lease (scope, fence), due at `nowMs`, expire:
   * the stall's end + graceMs, but never past its last renewal + TTL + graceCapMs (as a
   * replicated grace caps it); 0 without a stall, once the stall's grace has passed (which then
   * forgets it, so later rounds look up no lease), or when the lease is no longer the holder's.
   * The scope comes from the FSM's own deadline index, so its name is not validated again.
   */
  private stallGraceEndMs(scope: string, fenceToken: bigint, nowMs: number): number {
    if (this.stallGraceUntilMs === 0) return 0;
    if (nowMs >= this.stallGraceUntilMs) {
      this.stallGraceUntilMs = 0;
      return 0;
    }
    const holder = this.sm.fsm.heldLease(scope, fenceToken);
    if (holder === null) return 0;
    return Math.min(
      this.stallGraceUntilMs,
      holder.lastRenewalStampMs + holder.leaseTtlMs + this.options.graceCapMs,
    );
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueMs = 0;
  }

  private async expireDue(): Promise<void> {
    if (this.state !== 'active' || this.expiring) return;
    this.beat();
    const now = this.nowMs();
    const found = this.sm.fsm.expiredLeases(now, DUE_LEASES_MAX);
    if (found.length === 0) {
      this.idleRetryMs = EXPIRE_RETRY_MS;
      // Nothing due yet: the timer fired at a lower bound of the next deadline (a renewed
      // lease's previous one) and the deadline index caught up a budget of moves. Arming again
      // sets the timer at the new bound: one still past fires on a later event-loop turn, so
      // catching up never holds the loop.
      this.arm();
      return;
    }
    const due: LeaseRef[] = [];
    let heldBackUntilMs = Infinity;
    for (const l of found) {
      const key = leaseKey(l);
      if (this.service.renewalPending(key) || this.quarantine.has(key)) continue;
      const graceEndMs = this.stallGraceEndMs(l.scope, l.fenceToken, now);
      if (now < graceEndMs) {
        heldBackUntilMs = Math.min(heldBackUntilMs, graceEndMs);
        continue;
      }
      due.push({ scope: l.scope, fenceToken: l.fenceToken });
    }
    if (due.length === 0) {
      // Everything due is being renewed, quarantined or held back after a stall: look again
      // when the first held-back lease may go, or after a wait that doubles while this lasts
      // (EXPIRE_IDLE_RETRY_MS_MAX), not in a tight loop.
      this.retryAtMs = Math.max(now + this.idleRetryMs, heldBackUntilMs === Infinity ? 0 : heldBackUntilMs);
      this.idleRetryMs = Math.min(2 * this.idleRetryMs, EXPIRE_IDLE_RETRY_MS_MAX);
      this.arm();
      return;
    }
    this.retryAtMs = 0;
    this.idleRetryMs = EXPIRE_RETRY_MS;
    // One entry's worth per round; what does not fit is still due and goes in the next round.
    const batch = chunkLeases(due, EXPIRE_BATCH_MAX, LEASE_BATCH_BYTES_MAX)[0]!;
    this.expiring = true;
    try {
      const { isolated } = await this.service.expireLeases(batch);
      for (const { lease } of isolated) this.quarantineLease(lease);
    } catch (e) {
      this.logger.warn(
        { err: e instanceof Error ? e.message : String(e), leases: batch.length },
        `an expire batch did not commit; it will be retried in ${EXPIRE_RETRY_MS} ms`,
      );
      this.retryAtMs = this.nowMs() + EXPIRE_RETRY_MS;
    } finally {
      this.expiring = false;
    }
    if (this.state === 'active') this.arm();
  }

  /** quarantineLease leaves a lease whose expiry cannot be proposed alone out of later rounds (bounded). */
  private quarantineLease(lease: LeaseRef): void {
    if (this.quarantine.size >= EXPIRE_QUARANTINE_MAX) {
      this.logger.warn(
        { scope: lease.scope, quarantineMax: EXPIRE_QUARANTINE_MAX },
        'the expiry quarantine is full; this lease will be tried again in later rounds',
      );
      return;
    }
    this.quarantine.add(leaseKey(lease));
  }
}
