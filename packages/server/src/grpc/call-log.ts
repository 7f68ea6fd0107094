import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { isServerError } from '../errors/error-table';
import { handBackOf } from '../leadership/request-origin';
import type { GrpcServiceError } from './errors';
import { toServiceError } from './errors';

/**
 * GRPC_TRANSPORT is the negotiated protocol of every call a plaintext listener takes: HTTP/2 with
 * prior knowledge, h2c. A TLS listener records TLS_TRANSPORT_GRPC (`h2`, the only protocol its
 * ALPN offers), and a future HTTP/3 listener `h3` (DESIGN.md "Transport note").
 */
export const GRPC_TRANSPORT = 'h2c';

/**
 * callLogger is the logger the gRPC services log calls with: `logger` bound to the listener's
 * `transport`, so every call line and error line says how the call arrived.
 */
export function callLogger(logger: Logger, transport: string): Logger {
  return logger.child({ transport });
}

/** CallOutcome is how a call ended: OK, cancelled by the client, or failed with a status. */
export type CallOutcome = 'ok' | 'cancelled' | GrpcServiceError;

/**
 * recordCall writes the one debug line each call gets: method and final status code (the
 * server's error code too when it failed), with the transport `logger` is bound to (callLogger),
 * and what `details` adds (a stream's own figures). An INTERNAL failure is also logged as an
 * error with its cause, which never reaches the client. Cheap when debug is off: nothing is
 * built unless the level is enabled.
 */
export function recordCall(
  logger: Logger,
  method: string,
  outcome: CallOutcome,
  cause?: unknown,
  details?: () => Record<string, unknown>,
): void {
  if (typeof outcome === 'object' && outcome.errorCode === 'INTERNAL') {
    logger.error({ err: cause, method }, 'gRPC call failed; this is a bug');
  }
  if (!logger.isLevelEnabled('debug')) return;
  const code =
    outcome === 'ok' ? grpc.status.OK : outcome === 'cancelled' ? grpc.status.CANCELLED : outcome.code;
  logger.debug(
    {
      method,
      code: grpc.status[code],
      ...(typeof outcome === 'object' ? { errorCode: outcome.errorCode } : {}),
      ...details?.(),
    },
    'gRPC call',
  );
}

/**
 * UnaryForwarding forwards a unary call refused here with NOT_LEADER to the member the refusal
 * named (`to`: its leaderHint, '' when it named none); false when it cannot. If that member
 * answers NOT_LEADER naming this node (it is handing leadership here), the forwarder calls
 * `serveHere` with that member's id instead of relaying the refusal: the call is served here
 * once more.
 */
export interface UnaryForwarding {
  forwardUnary(
    method: string,
    call: grpc.ServerUnaryCall<unknown, object>,
    callback: grpc.sendUnaryData<object>,
    to: string,
    serveHere: (handedBackBy: string) => void,
  ): boolean;
}

/**
 * unaryHandler adapts an async function to a grpc-js unary handler: its result is the response,
 * anything it throws becomes the status from the error table; either way the call is recorded.
 * With `forwarding`, a call refused with NOT_LEADER goes once to the member the refusal named (the
 * leader, or the target of a transfer under way), when it can (the forwarder then answers and logs
 * it); a call that member hands back (UnaryForwarding) is served here once more, in the request's
 * own context, and is not forwarded again.
 */
export function unaryHandler(
  logger: Logger,
  method: string,
  handle: (request: unknown) => Promise<object>,
  forwarding?: UnaryForwarding,
): grpc.handleUnaryCall<unknown, object> {
  return (call, callback) => {
    const serve = (handedBack: boolean): void => {
      handle(call.request).then(
        (response) => {
          recordCall(logger, method, 'ok');
          callback(null, response);
        },
        (e: unknown) => {
          if (!handedBack && forwarding !== undefined && isServerError(e, 'NOT_LEADER')) {
            const to = e.details['leaderHint'];
            const serveHere = handBackOf(() => serve(true));
            if (forwarding.forwardUnary(method, call, callback, typeof to === 'string' ? to : '', serveHere))
              return;
          }
          const error = toServiceError(e);
          recordCall(logger, method, error, e);
          callback(error);
        },
      );
    };
    serve(false);
  };
}
