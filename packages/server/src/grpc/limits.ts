import { ServerError } from '../errors/error-table';

/**
 * KEEPALIVE_LEASES_PER_STREAM_MAX is the most distinct leases one KeepAlive stream may keep
 * alive at once. A lease leaves the count when a renewal reports it dead (stale fence, bad
 * scope), so a long-lived stream whose leases change does not run into the bound; a request
 * that would pass it fails the whole stream and renews nothing of that request.
 */
export const KEEPALIVE_LEASES_PER_STREAM_MAX = 10_000;

/** KEEPALIVE_LEASES_PER_MESSAGE_MAX is the most leases one KeepAlive request may list. */
export const KEEPALIVE_LEASES_PER_MESSAGE_MAX = 1_000;

/**
 * KEEPALIVE_MESSAGES_IN_FLIGHT_MAX is how many KeepAlive requests of one stream may wait for
 * their renewals at once; past it the server stops reading the stream (HTTP/2 flow control
 * then slows the client down) until an answer goes out.
 */
export const KEEPALIVE_MESSAGES_IN_FLIGHT_MAX = 16;

/**
 * WATCH_STREAM_BUFFER_BYTES_MAX is how many serialized bytes a Watch stream may have written
 * but not yet handed to HTTP/2. A watcher past it is cut off with RESOURCE_EXHAUSTED and the
 * revision to resume from, rather than growing the server's memory.
 */
export const WATCH_STREAM_BUFFER_BYTES_MAX = 4 * 1024 * 1024;

/** GRPC_RECEIVE_MESSAGE_BYTES_MAX is the largest request message the server accepts. */
export const GRPC_RECEIVE_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * GRPC_KEEPALIVE_TIME_MS is how long a client connection may stay quiet before the server pings
 * it (HTTP/2 PING), and GRPC_KEEPALIVE_TIMEOUT_MS how long the server then waits for the answer
 * before it destroys the connection, which ends every call on it as cancelled. A client that
 * vanished without a reset (power loss, a dropped route) thus loses its streams within their sum:
 * its Campaign withdraws the candidate instead of leaving a ghost waiter that could be elected,
 * its KeepAlive counts as reset. The defaults of --grpc-keepalive-time-ms and
 * --grpc-keepalive-timeout-ms.
 */
export const GRPC_KEEPALIVE_TIME_MS = 10_000;
export const GRPC_KEEPALIVE_TIMEOUT_MS = 5_000;

/** GrpcKeepalive is the server-side keepalive of the public gRPC port (see GRPC_KEEPALIVE_TIME_MS). */
export interface GrpcKeepalive {
  readonly timeMs: number;
  readonly timeoutMs: number;
}

/** GRPC_SHUTDOWN_GRACE_MS is how long close() lets calls finish before it cancels them. */
export const GRPC_SHUTDOWN_GRACE_MS = 500;

/** GrpcLimits are the bounds of the public gRPC edge; startGrpcServer takes overrides (tests). */
export interface GrpcLimits {
  readonly keepAliveLeasesPerStreamMax: number;
  readonly keepAliveLeasesPerMessageMax: number;
  readonly keepAliveMessagesInFlightMax: number;
  readonly watchStreamBufferBytesMax: number;
  readonly receiveMessageBytesMax: number;
}

/** GRPC_LIMITS_DEFAULT are the named constants above, as a GrpcLimits. */
export const GRPC_LIMITS_DEFAULT: GrpcLimits = {
  keepAliveLeasesPerStreamMax: KEEPALIVE_LEASES_PER_STREAM_MAX,
  keepAliveLeasesPerMessageMax: KEEPALIVE_LEASES_PER_MESSAGE_MAX,
  keepAliveMessagesInFlightMax: KEEPALIVE_MESSAGES_IN_FLIGHT_MAX,
  watchStreamBufferBytesMax: WATCH_STREAM_BUFFER_BYTES_MAX,
  receiveMessageBytesMax: GRPC_RECEIVE_MESSAGE_BYTES_MAX,
};

/**
 * resolveGrpcLimits fills in the defaults and refuses a bound that is not a positive safe
 * integer, naming it, so a bad override fails at start rather than under load.
 */
export function resolveGrpcLimits(overrides: Partial<GrpcLimits> = {}): GrpcLimits {
  const limits: GrpcLimits = { ...GRPC_LIMITS_DEFAULT, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new ServerError(
        'INVALID_ARGUMENT',
        `gRPC limit ${name} must be a positive integer, got ${String(value)}`,
      );
    }
  }
  if (limits.keepAliveLeasesPerMessageMax > limits.keepAliveLeasesPerStreamMax) {
    throw new ServerError(
      'INVALID_ARGUMENT',
      `gRPC limit keepAliveLeasesPerMessageMax (${limits.keepAliveLeasesPerMessageMax}) exceeds keepAliveLeasesPerStreamMax (${limits.keepAliveLeasesPerStreamMax})`,
    );
  }
  return limits;
}
