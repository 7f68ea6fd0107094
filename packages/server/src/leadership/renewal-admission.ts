import { ServerError } from '../errors/error-table';

/** ADMISSION_RENEWAL_LAG_MS_DEFAULT is the renewal backlog above which a leader refuses new leases. */
export const ADMISSION_RENEWAL_LAG_MS_DEFAULT = 1_000;
/** ADMISSION_RENEWAL_LAG_MS_MIN and ADMISSION_RENEWAL_LAG_MS_MAX bound it when it is on (0 turns it off). */
export const ADMISSION_RENEWAL_LAG_MS_MIN = 50;
export const ADMISSION_RENEWAL_LAG_MS_MAX = 60_000;

/** RETRY_AFTER_BOUNDS_MAX bounds the wait a refused caller is told (retryAfterMs), in bounds (lagMaxMs). */
export const RETRY_AFTER_BOUNDS_MAX = 4;

/**
 * renewalLag is the renewal lag admission judges: the oldest unanswered renewal's wait, plus,
 * while one waits, how late the event loop runs now (requests wait unread that long). With none
 * waiting the leader is behind on nothing: a stall at start-up or a GC pause of an idle leader
 * refused the acquires of a test in CI.
 */
export function renewalLag(oldestWaitMs: number, eventLoopLateMs: number): number {
  return oldestWaitMs === 0 ? 0 : oldestWaitMs + eventLoopLateMs;
}

/** AdmittedCall names the calls that ask for a new lease, the ones RenewalAdmission may refuse. */
export type AdmittedCall = 'acquire' | 'campaign';

/** AdmissionStatus is what /status shows of RenewalAdmission. */
export interface AdmissionStatus {
  /** renewalLagMsMax is the configured bound (--admission-renewal-lag-ms); 0: admission control is off. */
  readonly renewalLagMsMax: number;
  /**
   * renewalLagMs is how long a renewal arriving now would wait on this node: how long the oldest
   * unanswered renewal has waited, plus, while one waits, how late the event loop runs now
   * (requests wait unread that long: RaftNode.eventLoopLateMs); 0 on a follower.
   */
  readonly renewalLagMs: number;
  /** refusing says whether a new lease asked now would be refused. */
  readonly refusing: boolean;
  /** refusedTotal counts the calls refused since this process started. */
  readonly refusedTotal: number;
}

/** AdmissionChange is a start or an end of refusing new leases, as RenewalAdmission reports it. */
export interface AdmissionChange {
  readonly refusing: boolean;
  /** renewalLagMs is the renewal backlog when the change was seen. */
  readonly renewalLagMs: number;
  /** refused counts the calls refused in the period that ended (0 when one begins). */
  readonly refused: number;
}

/**
 * RenewalAdmission keeps the leases a leader already holds ahead of new ones. Every renewal
 * waits in the RenewalBatcher until the renew entry that carries it is applied; when the leader
 * cannot keep up (its cores saturated by renewals and new leases together), that wait grows
 * until clients' leases lapse — at 100,000 leases on two cores, most of them at once. So while
 * the renewal lag (`renewalLagMs`: the oldest unanswered renewal's wait, plus, while one waits,
 * how late the leader's event loop runs now, the wait of requests not read yet) is above `lagMaxMs`, and for
 * `lagMaxMs` after it last was (so the state does not flap with every batch), a call asking for
 * a new lease (Acquire, Campaign) is refused with BACKPRESSURE before it costs a log entry.
 * BACKPRESSURE is retryable and says how long to wait (retryAfterMs): the SDK waits that long and
 * retries, so new leases slow down instead of the held ones expiring.
 * Renewals, resigns and step-downs are never refused here: they keep or free what is held. Nor
 * is a retried call of a session that already holds (or, campaigning, waits for) the scope: the
 * FSM answers it with what the session has (alreadyHolder), so it asks for nothing new, and it is
 * how a client gets back a lease an attempt it gave up on (a deadline) won. Refused, that lease
 * would lapse unrenewed while the client, told BACKPRESSURE, waits to ask for it again.
 *
 * Only the leader has renewals waiting, so a follower never refuses (and forwards as before).
 * `lagMaxMs` 0 turns it off.
 */
export class RenewalAdmission {
  private refusingUntilMs = Number.NEGATIVE_INFINITY;
  private refused = 0;
  /** refusedThisPeriod counts the calls refused since refusing last began (for the log line that ends it). */
  private refusedThisPeriod = 0;

  constructor(
    private readonly lagMaxMs: number,
    /** renewalLagMs is the renewal backlog now (RenewalBatcher.oldestWaitMs). */
    private readonly renewalLagMs: () => number,
    /** onRefused hears each refused call (metrics). */
    private readonly onRefused: (call: AdmittedCall) => void = () => undefined,
    /**
     * onChange hears when refusing begins (with the backlog that began it) and when the first call
     * after it is admitted again (with how many were refused meanwhile): one log line each.
     */
    private readonly onChange: (change: AdmissionChange) => void = () => undefined,
    /** now is a monotonic clock in milliseconds. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * admit throws BACKPRESSURE when a new lease must wait for the renewal backlog to clear.
   * `heldInSession` is asked only then: true admits the call (it asks for no new lease).
   */
  admit(call: AdmittedCall, heldInSession: () => boolean = () => false): void {
    if (this.lagMaxMs === 0) return;
    const lagMs = this.renewalLagMs();
    const nowMs = this.now();
    // A period that ended with no call admitted since is reported ended before anything else.
    if (nowMs >= this.refusingUntilMs) this.endPeriod(lagMs);
    if (lagMs > this.lagMaxMs) {
      if (nowMs >= this.refusingUntilMs) {
        this.onChange({ refusing: true, renewalLagMs: Math.round(lagMs), refused: 0 });
      }
      this.refusingUntilMs = nowMs + this.lagMaxMs;
    }
    if (nowMs >= this.refusingUntilMs || heldInSession()) return;
    this.refused++;
    this.refusedThisPeriod++;
    this.onRefused(call);
    const retryAfterMs = this.retryAfterMs(lagMs);
    throw new ServerError(
      'BACKPRESSURE',
      `new leases are refused while this leader catches up with renewals (they wait ${Math.round(lagMs)} ms; ` +
        `the bound is ${this.lagMaxMs} ms, --admission-renewal-lag-ms): retry in ${retryAfterMs} ms (the SDK does); ` +
        `if this lasts, the cluster holds more leases than it can renew: spread them over more clusters or give them longer TTLs`,
      { renewalLagMs: Math.round(lagMs), renewalLagMsMax: this.lagMaxMs, retryAfterMs },
    );
  }

  /**
   * retryAfterMs is how long a refused caller is told to wait before it asks again: about as long
   * as the backlog it was refused for takes to clear, at least the bound (refusing lasts that long
   * after the backlog was last seen above it) and at most RETRY_AFTER_BOUNDS_MAX bounds. Callers
   * that retried on their own short backoff kept an overloaded leader answering 600 refused calls
   * a second (bench/README.md "scale").
   */
  private retryAfterMs(lagMs: number): number {
    return Math.round(Math.min(Math.max(lagMs, this.lagMaxMs), RETRY_AFTER_BOUNDS_MAX * this.lagMaxMs));
  }

  /** endPeriod reports the end of a period of refusals, if one had refused anything. */
  private endPeriod(lagMs: number): void {
    if (this.refusedThisPeriod === 0) return;
    this.onChange({ refusing: false, renewalLagMs: Math.round(lagMs), refused: this.refusedThisPeriod });
    this.refusedThisPeriod = 0;
  }

  /** status is what /status shows. */
  status(): AdmissionStatus {
    const renewalLagMs = Math.round(this.renewalLagMs());
    return {
      renewalLagMsMax: this.lagMaxMs,
      renewalLagMs,
      refusing: this.lagMaxMs > 0 && (renewalLagMs > this.lagMaxMs || this.now() < this.refusingUntilMs),
      refusedTotal: this.refused,
    };
  }
}
