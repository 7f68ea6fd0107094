import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Successor } from '@omnirelay/leadership-fsm';
import { PRIORITY_MIN } from '@omnirelay/leadership-fsm';
import type { Logger } from 'pino';
import type { AccessControl } from '../auth/access-control';
import { ServerError } from '../errors/error-table';
import type { CampaignRequest, LeadershipService, ReadConsistency } from '../leadership/leadership-service';
import { recordCall, unaryHandler } from './call-log';
import {
  acquireToWire,
  electedToWire,
  leaseToWire,
  listToWire,
  optionalLeaseToWire,
  resignToWire,
  stepDownToWire,
} from './convert';
import { toServiceError } from './errors';
import type { GrpcForwarder } from './forwarder';
import { keepAliveHandler } from './keep-alive';
import type { GrpcLimits } from './limits';
import type { Fields } from './request-fields';
import {
  boolField,
  fenceTokenField,
  int32Field,
  optionalFenceTokenField,
  optionalStringField,
  optionalUint32Field,
  requestFields,
  stringField,
} from './request-fields';
import type { StreamLimiter } from '../limits/stream-limiter';
import { watchMuxHandler } from './watch-mux-stream';
import type { WatchEncoder } from './watch-stream';
import { revisionEncoder, watchHandler } from './watch-stream';

/** LeadershipImplOptions is what the Leadership service implementation needs. */
export interface LeadershipImplOptions {
  readonly service: LeadershipService;
  readonly logger: Logger;
  readonly limits: GrpcLimits;
  /** encodeWatchResponse serializes a WatchResponse (the Watch stream counts its bytes). */
  readonly encodeWatchResponse: WatchEncoder;
  /** encodeWatchStreamResponse serializes a WatchStreamResponse (the WatchStream call counts its bytes). */
  readonly encodeWatchStreamResponse: WatchEncoder;
  /** streamLimiter counts each watch of a WatchStream call as a watcher (the call itself is admitted as a stream). */
  readonly streamLimiter: StreamLimiter;
  /** forwarder sends what needs the leader and landed here to the leader. */
  readonly forwarder: GrpcForwarder;
  /** access checks each lease a KeepAlive stream lists against its caller's scope prefixes. */
  readonly access: AccessControl;
}

/**
 * leadershipServiceImpl implements the Leadership service of proto/leadership.proto on top of
 * LeadershipService, the only thing it calls. Every field read from a request is checked first;
 * every failure leaves with the status from the error table (see errors.ts). On a follower, the
 * writes and the linearizable reads go to the leader through the forwarder: the unary ones once
 * they are refused with NOT_LEADER, the streams (Campaign, KeepAlive) decided up front.
 */
export function leadershipServiceImpl(options: LeadershipImplOptions): grpc.UntypedServiceImplementation {
  const { service, logger, forwarder } = options;
  // One encoding per revision batch for the node's Watch and WatchStream calls together.
  const encodeRevision = revisionEncoder(options.encodeWatchResponse);
  return {
    Acquire: unaryHandler(
      logger,
      'Acquire',
      async (request) => {
        const o = requestFields(request, 'Acquire');
        return acquireToWire(await service.acquire(acquireRequest(o)));
      },
      forwarder,
    ),
    Campaign: campaignHandler(service, logger, forwarder),
    KeepAlive: keepAliveHandler(service, logger, options.limits, forwarder, options.access),
    Resign: unaryHandler(
      logger,
      'Resign',
      async (request) => {
        const o = requestFields(request, 'Resign');
        return resignToWire(
          await service.resign(
            stringField(o, 'scope'),
            fenceTokenField(o, 'fenceToken'),
            optionalStringField(o, 'correlationId'),
          ),
        );
      },
      forwarder,
    ),
    StepDown: unaryHandler(
      logger,
      'StepDown',
      async (request) => {
        const o = requestFields(request, 'StepDown');
        const fenceToken = optionalFenceTokenField(o, 'fenceToken');
        const successor = successorOf(o);
        const correlationId = optionalStringField(o, 'correlationId');
        return stepDownToWire(
          await service.stepDown({
            scope: stringField(o, 'scope'),
            ...(fenceToken === undefined ? {} : { fenceToken }),
            ...(successor === undefined ? {} : { successor }),
            ...(correlationId === undefined ? {} : { correlationId }),
          }),
        );
      },
      forwarder,
    ),
    GetLeader: unaryHandler(
      logger,
      'GetLeader',
      async (request) => {
        const o = requestFields(request, 'GetLeader');
        const scope = stringField(o, 'scope');
        const leader = await service.getLeader(scope, consistencyOf(o));
        return { scope, leader: optionalLeaseToWire(leader) };
      },
      forwarder,
    ),
    ListLeaders: unaryHandler(
      logger,
      'ListLeaders',
      async (request) => {
        const o = requestFields(request, 'ListLeaders');
        const pageToken = stringField(o, 'pageToken');
        const limit = int32Field(o, 'limit');
        const page = await service.listLeaders(
          {
            prefix: stringField(o, 'prefix'),
            ...(pageToken === '' ? {} : { pageToken }),
            ...(limit === 0 ? {} : { limit }),
          },
          consistencyOf(o),
        );
        return listToWire(page);
      },
      forwarder,
    ),
    Watch: watchHandler(service, logger, options.limits, encodeRevision),
    WatchStream: watchMuxHandler({
      service,
      logger,
      limits: options.limits,
      encodeRevision,
      encode: options.encodeWatchStreamResponse,
      streamLimiter: options.streamLimiter,
    }),
    ValidateFence: unaryHandler(
      logger,
      'ValidateFence',
      async (request) => {
        const o = requestFields(request, 'ValidateFence');
        const scope = stringField(o, 'scope');
        const answer = await service.validateFence(scope, fenceTokenField(o, 'fenceToken'), consistencyOf(o));
        return { scope, valid: answer.valid, current: optionalLeaseToWire(answer.current) };
      },
      forwarder,
    ),
  };
}

/** consistencyOf reads a read request's `serializable` flag (default: linearizable). */
function consistencyOf(o: Fields): ReadConsistency {
  return boolField(o, 'serializable') ? 'serializable' : 'linearizable';
}

/** acquireRequest reads the fields Acquire and Campaign share; the FSM checks the session id's rules. */
function acquireRequest(o: Fields): {
  scope: string;
  candidateId: string;
  sessionId?: string;
  metadata: string;
  leaseTtlMs: number;
  correlationId?: string;
} {
  const correlationId = optionalStringField(o, 'correlationId');
  const sessionId = optionalStringField(o, 'sessionId');
  return {
    scope: stringField(o, 'scope'),
    candidateId: stringField(o, 'candidateId'),
    ...(sessionId === undefined ? {} : { sessionId }),
    metadata: stringField(o, 'metadata'),
    leaseTtlMs: int32Field(o, 'leaseTtlMs'),
    ...(correlationId === undefined ? {} : { correlationId }),
  };
}

/**
 * successorOf reads StepDown's successor: none; a waiting candidate (successor_id alone); or an
 * explicit one (successor_id with successor_lease_ttl_ms, and optionally successor_metadata).
 */
function successorOf(o: Fields): Successor | undefined {
  const candidateId = optionalStringField(o, 'successorId');
  const leaseTtlMs = optionalUint32Field(o, 'successorLeaseTtlMs');
  const metadata = optionalStringField(o, 'successorMetadata');
  if (candidateId === undefined) {
    if (leaseTtlMs !== undefined || metadata !== undefined) {
      throw new ServerError(
        'INVALID_ARGUMENT',
        'successor_lease_ttl_ms and successor_metadata need successor_id',
        { field: 'successor_id' },
      );
    }
    return undefined;
  }
  if (leaseTtlMs === undefined) {
    if (metadata !== undefined) {
      throw new ServerError(
        'INVALID_ARGUMENT',
        'successor_metadata needs successor_lease_ttl_ms (a waiting successor keeps the terms it campaigned with)',
        { field: 'successor_lease_ttl_ms' },
      );
    }
    return { kind: 'waiting', candidateId };
  }
  return { kind: 'explicit', candidateId, metadata: metadata ?? '', leaseTtlMs };
}

/**
 * campaignHandler serves Campaign: one proposal joins the queue (or wins at once); a queued
 * candidate gets `queued` with its position and the holder, then `elected` when it wins.
 * Cancelling the call withdraws the candidate (LeadershipService.campaign does both). On a
 * follower the whole stream is proxied to the leader (or refused with NOT_LEADER), decided up front.
 */
function campaignHandler(
  service: LeadershipService,
  logger: Logger,
  forwarder: GrpcForwarder,
): grpc.handleServerStreamingCall<unknown, object> {
  return (call) => {
    const route = forwarder.route(call.metadata);
    if (route.kind === 'forward') {
      forwarder.forwardServerStream('Campaign', call, route.target);
      return;
    }
    if (route.kind === 'notLeader') {
      const error = toServiceError(service.notLeader());
      recordCall(logger, 'Campaign', error);
      call.emit('error', error);
      return;
    }
    const cancelled = new AbortController();
    call.on('cancelled', () => cancelled.abort());
    runCampaign(service, call, cancelled.signal).then(
      () => {
        recordCall(logger, 'Campaign', 'ok');
        call.end();
      },
      (e: unknown) => {
        if (cancelled.signal.aborted) {
          recordCall(logger, 'Campaign', 'cancelled');
          return;
        }
        const error = toServiceError(e);
        recordCall(logger, 'Campaign', error, e);
        call.emit('error', error);
      },
    );
  };
}

async function runCampaign(
  service: LeadershipService,
  call: grpc.ServerWritableStream<unknown, object>,
  signal: AbortSignal,
): Promise<void> {
  const o = requestFields(call.request, 'Campaign');
  const correlationId = optionalStringField(o, 'correlationId') ?? randomUUID();
  const req: CampaignRequest & { readonly metadata: string } = {
    ...acquireRequest(o),
    priority: int32Field(o, 'priority', PRIORITY_MIN),
    correlationId,
  };
  if (signal.aborted)
    throw new ServerError('DEADLINE_EXCEEDED', 'the campaign was cancelled before it started');
  const won = await service.campaign(req, signal, (queued) => {
    call.write({
      queued: {
        position: queued.position,
        alreadyWaiting: queued.alreadyWaiting,
        holder: leaseToWire(queued.holder),
      },
    });
  });
  call.write({ elected: electedToWire(won) });
}
