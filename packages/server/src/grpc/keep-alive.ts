import type * as grpc from '@grpc/grpc-js';
import type { LeaseRef } from '@omnirelay/leadership-fsm';
import { isValidScopeName } from '@omnirelay/leadership-fsm';
import type { Logger } from 'pino';
import { ServerError, isServerError } from '../errors/error-table';
import type { LeadershipService } from '../leadership/leadership-service';
import { leaseKey } from '../leadership/renewal-batcher';
import { recordCall } from './call-log';
import type { WireKeepAliveResult } from './convert';
import { renewItemToWire } from './convert';
import { toServiceError } from './errors';
import type { GrpcLimits } from './limits';
import { arrayField, parseFenceToken, requestFields, stringField } from './request-fields';

/** One lease of a request: to renew, or already answered because it was refused at the edge. */
type Item = { readonly renew: LeaseRef } | { readonly answer: WireKeepAliveResult };

/**
 * keepAliveHandler serves KeepAlive: each request lists leases and gets exactly one response,
 * in request order, with one result per lease. Renewals go through LeadershipService.renew,
 * which folds the renewals of every stream into as few replicated entries as possible.
 */
export function keepAliveHandler(
  service: LeadershipService,
  logger: Logger,
  limits: GrpcLimits,
): grpc.handleBidiStreamingCall<unknown, object> {
  return (call) => new KeepAliveStream(service, logger, limits, call).start();
}

/**
 * KeepAliveStream is one KeepAlive call. Bounds: KEEPALIVE_LEASES_PER_MESSAGE_MAX leases per
 * request, KEEPALIVE_LEASES_PER_STREAM_MAX distinct live leases per stream (a request past
 * either fails the stream with INVALID_ARGUMENT and renews nothing of it), and
 * KEEPALIVE_MESSAGES_IN_FLIGHT_MAX requests awaiting answers (then reading pauses).
 */
class KeepAliveStream {
  /** live holds leaseKey of every lease this stream renews; a lease found dead leaves it. */
  private readonly live = new Set<string>();
  /** tail is the last answer in line; answers are written in request order. */
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private done = false;

  constructor(
    private readonly service: LeadershipService,
    private readonly logger: Logger,
    private readonly limits: GrpcLimits,
    private readonly call: grpc.ServerDuplexStream<unknown, object>,
  ) {}

  start(): void {
    this.call.on('data', (request: unknown) => this.onRequest(request));
    this.call.on('end', () => {
      void this.tail.then(() => {
        if (this.done) return;
        this.done = true;
        recordCall(this.logger, 'KeepAlive', 'ok');
        this.call.end();
      });
    });
    this.call.on('cancelled', () => {
      if (this.done) return;
      this.done = true;
      recordCall(this.logger, 'KeepAlive', 'cancelled');
    });
  }

  private onRequest(request: unknown): void {
    if (this.done) return;
    let items: Item[];
    try {
      items = this.parse(request);
    } catch (e) {
      this.fail(e);
      return;
    }
    const answers = Promise.all(items.map((item) => this.answer(item)));
    // The rejection is handled when this answer's turn comes; this only keeps it from being reported early.
    answers.catch(() => undefined);
    this.inFlight++;
    if (this.inFlight >= this.limits.keepAliveMessagesInFlightMax) this.call.pause();
    this.tail = this.tail
      .then(async () => {
        const results = await answers;
        if (!this.done) this.call.write({ results });
      })
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight < this.limits.keepAliveMessagesInFlightMax) this.call.resume();
      });
  }

  /** parse checks one request against the bounds and sorts its leases; it throws before anything is renewed. */
  private parse(request: unknown): Item[] {
    const leases = arrayField(requestFields(request, 'KeepAlive'), 'leases');
    if (leases.length > this.limits.keepAliveLeasesPerMessageMax) {
      throw new ServerError(
        'INVALID_ARGUMENT',
        `a KeepAlive request lists ${leases.length} leases; at most ${this.limits.keepAliveLeasesPerMessageMax} are allowed per request`,
        { field: 'leases', limit: this.limits.keepAliveLeasesPerMessageMax },
      );
    }
    const items = leases.map((lease, i) => itemOf(lease, i));
    const added = new Set<string>();
    for (const item of items) {
      if ('renew' in item) {
        const key = leaseKey(item.renew);
        if (!this.live.has(key)) added.add(key);
      }
    }
    if (this.live.size + added.size > this.limits.keepAliveLeasesPerStreamMax) {
      throw new ServerError(
        'INVALID_ARGUMENT',
        `too many leases on one KeepAlive stream: this request would make ${this.live.size + added.size}, ` +
          `at most ${this.limits.keepAliveLeasesPerStreamMax} are allowed; spread the leases over more streams`,
        { field: 'leases', limit: this.limits.keepAliveLeasesPerStreamMax },
      );
    }
    for (const key of added) this.live.add(key);
    return items;
  }

  private async answer(item: Item): Promise<WireKeepAliveResult> {
    if ('answer' in item) return item.answer;
    const result = await this.service.renew(item.renew);
    // A lease that did not renew will never renew again (fences are not reused): stop counting it.
    if (!result.renewed) this.live.delete(leaseKey(item.renew));
    return renewItemToWire(result);
  }

  /** fail ends the stream with the error's status; later requests and answers are dropped. */
  private fail(e: unknown): void {
    if (this.done) return;
    this.done = true;
    const error = toServiceError(e);
    recordCall(this.logger, 'KeepAlive', error, e);
    this.call.emit('error', error);
  }
}

/**
 * itemOf checks one listed lease. A bad scope name or fence token is answered for that lease
 * alone (INVALID_SCOPE, INVALID_ARGUMENT) and never reaches the shared renewal batch, so one
 * client's mistake cannot fail anyone else's renewal.
 */
function itemOf(value: unknown, i: number): Item {
  if (typeof value !== 'object' || value === null) {
    throw new ServerError('INVALID_ARGUMENT', `leases[${i}] must be a LeaseRef`, { field: 'leases' });
  }
  const ref = value as Record<string, unknown>;
  const scope = stringField(ref, 'scope');
  const refused = (errorCode: string): Item => ({
    answer: {
      scope,
      fenceToken: typeof ref['fenceToken'] === 'string' ? ref['fenceToken'] : '0',
      renewed: false,
      deadlineMs: 0,
      errorCode,
    },
  });
  if (!isValidScopeName(scope)) return refused('INVALID_SCOPE');
  try {
    return { renew: { scope, fenceToken: parseFenceToken(ref['fenceToken'], 'fenceToken') } };
  } catch (e) {
    if (isServerError(e, 'INVALID_ARGUMENT')) return refused('INVALID_ARGUMENT');
    throw e;
  }
}
