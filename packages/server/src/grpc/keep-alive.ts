import type * as grpc from '@grpc/grpc-js';
import type { LeaseRef } from '@omnirelay/leadership-fsm';
import { isValidScopeName } from '@omnirelay/leadership-fsm';
import type { Logger } from 'pino';
import type { AccessControl, Credentials } from '../auth/access-control';
import { ServerError, isServerError } from '../errors/error-table';
import type { LeadershipService } from '../leadership/leadership-service';
import { currentCredentials, currentTransport } from '../leadership/request-origin';
import type { Renewable } from '../leadership/renewal-batcher';
import { leaseKey } from '../leadership/renewal-batcher';
import type { ResetRelease } from '../leadership/reset-releaser';
import { RELEASE_ON_RESET_MS_MIN } from '../leadership/reset-releaser';
import { recordCall } from './call-log';
import type { ClientEnd } from './client-end';
import { onClientEnd } from './client-end';
import type { WireKeepAliveResult } from './convert';
import { renewItemToWire } from './convert';
import { toServiceError } from './errors';
import type { GrpcForwarder } from './forwarder';
import type { GrpcLimits } from './limits';
import { arrayField, parseFenceToken, requestFields, stringField } from './request-fields';

/**
 * StreamLease is one lease a stream renews, kept for as long as it lives on the stream: a request
 * names the StreamLeases it lists, so a renewal in flight holds no object of its own per lease
 * (the parsed lease, its fence and its key were ~30% of what a loaded leader's young collections
 * kept alive, bench/README.md "What survives a scavenge"). `graceMs` is the release-on-reset
 * grace it was listed with last, 0 when off; the releaser reads it as a ResetRelease.
 */
interface StreamLease extends ResetRelease, Renewable {
  readonly lease: LeaseRef;
  /** key is its leaseKey. */
  readonly key: string;
  graceMs: number;
}

/** ListedLease is one lease of a request: already answered (refused at the edge), or to renew with the grace it lists. */
type ListedLease =
  { readonly answer: WireKeepAliveResult } | { readonly renew: LeaseRef; readonly releaseOnResetMs: number };

/**
 * Listed is one request, parsed: `results` already holds the answers of leases refused at the
 * edge; `renewing[j]` is to be renewed and answered in `results[slots[j]]`, with the grace
 * `graces[j]` it lists.
 */
interface Listed {
  readonly results: WireKeepAliveResult[];
  readonly renewing: StreamLease[];
  readonly slots: number[];
  readonly graces: number[];
}

/**
 * keepAliveHandler serves KeepAlive: each request lists leases and gets exactly one response,
 * in request order, with one result per lease. Renewals go through LeadershipService.renew,
 * which folds the renewals of every stream into as few replicated entries as possible. On a
 * follower the whole stream is proxied to the leader (or refused with NOT_LEADER at once),
 * decided when it opens.
 */
export function keepAliveHandler(
  service: LeadershipService,
  logger: Logger,
  limits: GrpcLimits,
  forwarder: GrpcForwarder,
  access: AccessControl,
): grpc.handleBidiStreamingCall<unknown, object> {
  return (call) => {
    const route = forwarder.route(call.metadata);
    if (route.kind === 'forward') {
      forwarder.forwardBidiStream('KeepAlive', call, route.target);
      return;
    }
    if (route.kind === 'notLeader') {
      const error = toServiceError(service.notLeader());
      recordCall(logger, 'KeepAlive', error);
      call.emit('error', error);
      return;
    }
    // Captured while the call's request context is current: the stream's data events run outside it.
    const caller = { access, credentials: currentCredentials() ?? {}, transport: currentTransport() };
    new KeepAliveStream(service, logger, limits, call, caller).start();
  };
}

/** StreamCaller is who opened a KeepAlive stream, as access control checks it again per request. */
interface StreamCaller {
  readonly access: AccessControl;
  readonly credentials: Credentials;
  readonly transport: string;
}

/**
 * KeepAliveStream is one KeepAlive call. Bounds: KEEPALIVE_LEASES_PER_MESSAGE_MAX leases per
 * request, KEEPALIVE_LEASES_PER_STREAM_MAX distinct live leases per stream (a request past
 * either fails the stream with INVALID_ARGUMENT and renews nothing of it), and
 * KEEPALIVE_MESSAGES_IN_FLIGHT_MAX requests awaiting answers (then reading pauses).
 *
 * Release on reset: the stream remembers, per live lease, the latest `release_on_reset_ms`
 * listed for it. When the stream ends abnormally (cancelled by the client or its connection, or
 * failed), the leader arms a release timer for each such lease (LeadershipService.resetReleaser);
 * a clean half-close by the client is a deliberate stop and keeps plain TTL semantics.
 */
class KeepAliveStream {
  /**
   * live holds, by scope, the lease this stream renews on it (the latest fence listed: a scope has
   * one holder, so an older fence of it is dead); a lease found dead leaves it. A listing finds its
   * StreamLease by the scope it was decoded with and one fence comparison: building its leaseKey
   * (a decimal fence string and a concatenation, hashed whole) for every listed lease to find it
   * was 3.8 s of a loaded leader's 230 s in a scale run. The key is made once, for a new lease.
   */
  private readonly live = new Map<string, StreamLease>();
  /** releaseOnReset holds the live leases whose latest listing asked for release on reset (graceMs > 0). */
  private readonly releaseOnReset = new Set<StreamLease>();
  /** tail is the last answer in line; answers are written in request order. */
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** firstScope is the scope of the first lease the stream listed: on the call line, whose stream it was. */
  private firstScope: string | undefined;
  /** figures are what the stream's call line reports when it ends (debug level): where a client's renewals waited. */
  private readonly figures = new StreamFigures();
  /** done: the stream's outcome is settled (answered OK, failed, or reset); nothing more is written. */
  private done = false;
  /** unwatchLeadership stops listening for this node's loss of leadership (once the stream is done). */
  private unwatchLeadership: () => void = () => undefined;

  constructor(
    private readonly service: LeadershipService,
    private readonly logger: Logger,
    private readonly limits: GrpcLimits,
    private readonly call: grpc.ServerDuplexStream<unknown, object>,
    private readonly caller: StreamCaller,
  ) {}

  start(): void {
    this.call.on('data', (request: unknown) => this.onRequest(request));
    onClientEnd(this.call, (how) => this.ended(how));
    // A leader that stops leading ends its streams at once with NOT_LEADER, naming its successor,
    // instead of after every request in flight is answered: those wait on entries whose fate a
    // new leader decides, up to 1.9 s after a transfer at 100,000 leases, while the client's
    // leases run down. The client sends them again to the new leader; renewing twice is harmless.
    this.unwatchLeadership = this.service.onLeadershipLost(() => this.fail(this.service.notLeader()));
  }

  /**
   * ended handles the client's end of the stream, once: a clean half-close answers what is in
   * flight and ends the stream with OK (a deliberate stop: the leases keep plain TTL semantics);
   * a reset arms the release timers of the leases that asked for them.
   */
  private ended(how: ClientEnd): void {
    this.unwatchLeadership();
    if (how === 'halfClosed') {
      for (const held of this.releaseOnReset) this.service.resetReleaser.disown(this, held.key);
      this.releaseOnReset.clear();
      void this.tail.then(() => {
        if (this.done) return;
        this.done = true;
        recordCall(this.logger, 'KeepAlive', 'ok', undefined, () => this.details());
        this.call.end();
      });
      return;
    }
    this.armReleases();
    if (this.done) return;
    this.done = true;
    recordCall(this.logger, 'KeepAlive', 'cancelled', undefined, () => this.details());
  }

  /**
   * armReleases hands the leases that asked for release on reset to the leader's releaser, which
   * arms those this stream still owns (a lease listed on a newer stream since is not released).
   */
  private armReleases(): void {
    if (this.releaseOnReset.size === 0) return;
    this.service.resetReleaser.arm(this.releaseOnReset, this);
    this.releaseOnReset.clear();
  }

  private onRequest(request: unknown): void {
    if (this.done) return;
    let listed: Listed;
    try {
      // Each request authenticates again: a token revoked since the stream opened renews nothing more.
      const { access, credentials, transport } = this.caller;
      const principal = access.check(credentials, 'KeepAlive', { kind: 'authenticated' }, transport);
      listed = this.parse(request, (scope) => {
        if (principal === undefined) return true;
        try {
          access.authorize(principal, 'KeepAlive', { kind: 'campaign', scope }, transport);
          return true;
        } catch {
          return false;
        }
      });
    } catch (e) {
      this.fail(e);
      return;
    }
    const answers = this.answer(listed);
    // The rejection is handled when this answer's turn comes; this only keeps it from being reported early.
    answers.catch(() => undefined);
    this.inFlight++;
    this.figures.received(performance.now());
    if (this.inFlight >= this.limits.keepAliveMessagesInFlightMax) {
      this.call.pause();
      this.figures.paused(performance.now());
    }
    this.tail = this.tail
      .then(async () => {
        const results = await answers;
        if (!this.done) this.call.write({ results });
      })
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        this.inFlight--;
        this.figures.answered(performance.now());
        if (this.inFlight < this.limits.keepAliveMessagesInFlightMax) {
          this.call.resume();
          this.figures.resumed(performance.now());
        }
      });
  }

  /**
   * details are the stream's figures for its call line: whose stream it was (the connection, and
   * the first lease's scope: clients that share a connection are told apart by their leases), how
   * many requests, how long they waited.
   */
  private details(): Record<string, unknown> {
    return {
      peer: this.call.getPeer(),
      firstScope: this.firstScope ?? '',
      leases: this.live.size,
      ...this.figures.report(performance.now()),
    };
  }

  /**
   * parse checks one request against the bounds and sorts its leases, finding each listed lease's
   * StreamLease (made on its first listing); it throws before anything is renewed.
   */
  private parse(request: unknown, mayRenew: (scope: string) => boolean): Listed {
    const leases = arrayField(requestFields(request, 'KeepAlive'), 'leases');
    if (leases.length > this.limits.keepAliveLeasesPerMessageMax) {
      throw new ServerError(
        'INVALID_ARGUMENT',
        `a KeepAlive request lists ${leases.length} leases; at most ${this.limits.keepAliveLeasesPerMessageMax} are allowed per request`,
        { field: 'leases', limit: this.limits.keepAliveLeasesPerMessageMax },
      );
    }
    const listed: Listed = {
      results: new Array<WireKeepAliveResult>(leases.length),
      renewing: [],
      slots: [],
      graces: [],
    };
    /** added holds, by scope, the leases new to this stream, which join `live` once the request is within bounds. */
    const added = new Map<string, StreamLease>();
    /** newScopes counts the scopes of `added` that `live` does not hold (a new fence of a held scope replaces it). */
    let newScopes = 0;
    leases.forEach((value, i) => {
      const item = itemOf(value, i, mayRenew);
      if ('answer' in item) {
        listed.results[i] = item.answer;
        return;
      }
      const lease = item.renew;
      let held = this.live.get(lease.scope);
      if (held === undefined || held.lease.fenceToken !== lease.fenceToken) {
        const current = held;
        held = added.get(lease.scope);
        if (held === undefined || held.lease.fenceToken !== lease.fenceToken) {
          const fresh: StreamLease = { lease, key: leaseKey(lease), graceMs: 0, pending: undefined };
          // Fences rise per scope: a later fence replaces the stream's lease of its scope (the
          // earlier one is dead); an earlier one is renewed (and refused) without joining the stream.
          const latest = held ?? current;
          if (latest === undefined || lease.fenceToken > latest.lease.fenceToken) {
            if (latest === undefined) newScopes++;
            added.set(lease.scope, fresh);
          }
          held = fresh;
        }
      }
      listed.renewing.push(held);
      listed.slots.push(i);
      listed.graces.push(item.releaseOnResetMs);
    });
    if (this.live.size + newScopes > this.limits.keepAliveLeasesPerStreamMax) {
      throw new ServerError(
        'INVALID_ARGUMENT',
        `too many leases on one KeepAlive stream: this request would make ${this.live.size + newScopes}, ` +
          `at most ${this.limits.keepAliveLeasesPerStreamMax} are allowed; spread the leases over more streams`,
        { field: 'leases', limit: this.limits.keepAliveLeasesPerStreamMax },
      );
    }
    for (const [scope, held] of added) {
      this.live.set(scope, held);
      this.firstScope ??= scope;
    }
    return listed;
  }

  /**
   * answer renews the request's leases together (one wait, however many are listed) and answers
   * each in the request's order. Leases refused at the edge or for their release-on-reset grace
   * are answered without a renewal. The lists of `listed` are reused in place: a renewal in flight
   * holds one slot per lease in each, and no list of its own.
   */
  private async answer({ results, renewing, slots, graces }: Listed): Promise<WireKeepAliveResult[]> {
    let kept = 0;
    renewing.forEach((held, j) => {
      if (!this.takeGrace(held, graces[j]!)) {
        results[slots[j]!] = refusedResult(held.lease, 'INVALID_ARGUMENT');
        return;
      }
      renewing[kept] = held;
      slots[kept] = slots[j]!;
      kept++;
    });
    renewing.length = kept;
    slots.length = kept;
    const leases = renewing.map((held) => held.lease);
    const answers = await this.service.renewMany(leases, renewing);
    answers.forEach((result, j) => {
      // A lease that did not renew will never renew again (fences are not reused): stop counting it.
      if (!result.renewed) this.forget(renewing[j]!);
      results[slots[j]!] = renewItemToWire(result);
    });
    return results;
  }

  /**
   * takeGrace records the release-on-reset grace a lease is listed with now (0: off), or answers
   * false when it is longer than the lease's TTL. The range is checked against the TTL as this
   * replica (the leader) has it; a lease that is not current goes on to be renewed, which answers
   * why (STALE_FENCE).
   */
  private takeGrace(held: StreamLease, graceMs: number): boolean {
    if (graceMs > 0) {
      const ttlMs = this.service.currentLeaseTtlMs(held.lease);
      if (ttlMs !== undefined && graceMs > ttlMs) return false;
      held.graceMs = graceMs;
      this.releaseOnReset.add(held);
      this.service.resetReleaser.claim(this, held.key);
    } else {
      held.graceMs = 0;
      this.releaseOnReset.delete(held);
      this.service.resetReleaser.disown(this, held.key);
    }
    return true;
  }

  /** forget drops a lease that will never renew again from this stream. */
  private forget(held: StreamLease): void {
    if (this.live.get(held.lease.scope) === held) this.live.delete(held.lease.scope);
    this.releaseOnReset.delete(held);
    this.service.resetReleaser.disown(this, held.key);
  }

  /**
   * fail ends the stream with the error's status; later requests and answers are dropped. A
   * failed stream counts as reset: the client has to reconnect, so its leases' release timers start.
   */
  private fail(e: unknown): void {
    this.unwatchLeadership();
    if (this.done) return;
    this.done = true;
    const error = toServiceError(e);
    recordCall(this.logger, 'KeepAlive', error, e, () => this.details());
    this.call.emit('error', error);
    this.armReleases();
  }
}

/**
 * StreamFigures counts one KeepAlive stream's requests and how long they waited for their
 * answers (answers go out in request order, so the oldest unanswered request is the first of
 * those still waiting), and how long reading was paused (KEEPALIVE_MESSAGES_IN_FLIGHT_MAX). Its
 * report on the stream's call line tells a client's starved stream from a slow leader.
 */
class StreamFigures {
  private answers = 0;
  private longestWaitMs = 0;
  /** arrivals holds the arrival time of each request not answered yet, oldest first. */
  private readonly arrivals: number[] = [];
  private pausedSinceMs: number | undefined;
  private pausedMs = 0;

  received(nowMs: number): void {
    this.arrivals.push(nowMs);
  }

  answered(nowMs: number): void {
    const arrivedMs = this.arrivals.shift();
    if (arrivedMs === undefined) return;
    this.answers++;
    this.longestWaitMs = Math.max(this.longestWaitMs, nowMs - arrivedMs);
  }

  paused(nowMs: number): void {
    this.pausedSinceMs ??= nowMs;
  }

  resumed(nowMs: number): void {
    if (this.pausedSinceMs === undefined) return;
    this.pausedMs += nowMs - this.pausedSinceMs;
    this.pausedSinceMs = undefined;
  }

  /** report is the figures at `nowMs`, in whole milliseconds. */
  report(nowMs: number): Record<string, number> {
    const oldest = this.arrivals[0];
    const pausedNowMs = this.pausedSinceMs === undefined ? 0 : nowMs - this.pausedSinceMs;
    return {
      requests: this.answers + this.arrivals.length,
      answered: this.answers,
      longestAnswerWaitMs: Math.round(this.longestWaitMs),
      oldestUnansweredMs: oldest === undefined ? 0 : Math.round(nowMs - oldest),
      readPausedMs: Math.round(this.pausedMs + pausedNowMs),
    };
  }
}

/** refusedResult answers one lease refused without a renewal. */
function refusedResult(lease: LeaseRef, errorCode: string): WireKeepAliveResult {
  return {
    scope: lease.scope,
    fenceToken: lease.fenceToken.toString(),
    renewed: false,
    deadlineMs: 0,
    errorCode,
  };
}

/**
 * itemOf checks one listed lease. A bad scope name, fence token or release_on_reset_ms (neither
 * 0 nor at least RELEASE_ON_RESET_MS_MIN; the TTL bound is checked when it is answered) is
 * answered for that lease alone (INVALID_SCOPE, INVALID_ARGUMENT) and never reaches the shared
 * renewal batch, so one client's mistake cannot fail anyone else's renewal; so is a lease whose
 * scope the caller may not campaign for (PERMISSION_DENIED, per `mayRenew`).
 */
function itemOf(value: unknown, i: number, mayRenew: (scope: string) => boolean): ListedLease {
  if (typeof value !== 'object' || value === null) {
    throw new ServerError('INVALID_ARGUMENT', `leases[${i}] must be a LeaseRef`, { field: 'leases' });
  }
  const ref = value as Record<string, unknown>;
  const scope = stringField(ref, 'scope');
  const refused = (errorCode: string): ListedLease => ({
    answer: {
      scope,
      fenceToken: fenceEcho(ref['fenceToken']),
      renewed: false,
      deadlineMs: 0,
      errorCode,
    },
  });
  if (!isValidScopeName(scope)) return refused('INVALID_SCOPE');
  if (!mayRenew(scope)) return refused('PERMISSION_DENIED');
  const releaseOnResetMs = ref['releaseOnResetMs'] ?? 0;
  if (
    typeof releaseOnResetMs !== 'number' ||
    !Number.isSafeInteger(releaseOnResetMs) ||
    (releaseOnResetMs !== 0 && releaseOnResetMs < RELEASE_ON_RESET_MS_MIN)
  ) {
    return refused('INVALID_ARGUMENT');
  }
  try {
    return {
      renew: { scope, fenceToken: parseFenceToken(ref['fenceToken'], 'fenceToken') },
      releaseOnResetMs,
    };
  } catch (e) {
    if (isServerError(e, 'INVALID_ARGUMENT')) return refused('INVALID_ARGUMENT');
    throw e;
  }
}

/** fenceEcho is a refused lease's fence as its answer echoes it: as listed (a decimal string or a decoded bigint), else 0. */
function fenceEcho(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'bigint' ? value.toString() : '0';
}
