/**
 * ErrorCode is every error the server reports at its edges. Each maps to exactly one gRPC
 * status, one HTTP status and one CLI exit code, in ERROR_TABLE below, so every edge answers the
 * same failure the same way.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_LEADER'
  | 'BACKPRESSURE'
  | 'TRANSFER_IN_PROGRESS'
  | 'NO_QUORUM'
  | 'DEADLINE_EXCEEDED'
  | 'PROPOSAL_DROPPED'
  | 'CONFIG_CHANGE_IN_PROGRESS'
  | 'INVALID_CONFIG_CHANGE'
  | 'LEARNER_NOT_CAUGHT_UP'
  | 'INVALID_TRANSFER_TARGET'
  | 'STOPPED'
  | 'INVALID_SCOPE'
  | 'STALE_FENCE'
  | 'NOT_HOLDER'
  | 'NOT_WAITING'
  | 'HELD_BY_OTHER_SESSION'
  | 'TTL_OUT_OF_RANGE'
  | 'METADATA_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'QUEUE_FULL'
  | 'SCOPE_LIMIT_REACHED'
  | 'LIMIT_REACHED'
  | 'COMPACTED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'CLUSTER_PASSIVE'
  | 'CLUSTER_ACTIVE'
  | 'EPOCH_REGRESSION'
  | 'FENCE_SPACE_EXHAUSTED'
  | 'MIRROR_OUT_OF_ORDER'
  | 'INTERNAL';

/** ErrorMapping is how one code appears at each edge. */
export interface ErrorMapping {
  /** grpcStatus is the numeric gRPC status code. */
  readonly grpcStatus: number;
  readonly httpStatus: number;
  readonly cliExitCode: number;
}

/** Numeric gRPC codes, as in the gRPC spec (kept here so the table needs no runtime import). */
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  OUT_OF_RANGE: 11,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * ERROR_TABLE is the one table that maps each code to the edges. CLI exit codes: 0 ok, 1
 * internal, 2 bad usage or input, 3 unreachable or no quorum, 4 not found (or compacted), 5
 * rejected by the cluster's rules (stale fence, not the holder, conflicts), 6 overloaded or
 * timed out, 7 refused by access control (no or bad credentials, or a missing permission).
 */
export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorMapping>> = {
  INVALID_ARGUMENT: { grpcStatus: GRPC.INVALID_ARGUMENT, httpStatus: 400, cliExitCode: 2 },
  NOT_FOUND: { grpcStatus: GRPC.NOT_FOUND, httpStatus: 404, cliExitCode: 4 },
  PAYLOAD_TOO_LARGE: { grpcStatus: GRPC.RESOURCE_EXHAUSTED, httpStatus: 413, cliExitCode: 2 },
  NOT_LEADER: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 421, cliExitCode: 3 },
  BACKPRESSURE: { grpcStatus: GRPC.RESOURCE_EXHAUSTED, httpStatus: 429, cliExitCode: 6 },
  TRANSFER_IN_PROGRESS: { grpcStatus: GRPC.UNAVAILABLE, httpStatus: 503, cliExitCode: 3 },
  NO_QUORUM: { grpcStatus: GRPC.UNAVAILABLE, httpStatus: 503, cliExitCode: 3 },
  DEADLINE_EXCEEDED: { grpcStatus: GRPC.DEADLINE_EXCEEDED, httpStatus: 504, cliExitCode: 6 },
  PROPOSAL_DROPPED: { grpcStatus: GRPC.ABORTED, httpStatus: 409, cliExitCode: 5 },
  CONFIG_CHANGE_IN_PROGRESS: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  INVALID_CONFIG_CHANGE: { grpcStatus: GRPC.INVALID_ARGUMENT, httpStatus: 400, cliExitCode: 2 },
  LEARNER_NOT_CAUGHT_UP: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  INVALID_TRANSFER_TARGET: { grpcStatus: GRPC.INVALID_ARGUMENT, httpStatus: 400, cliExitCode: 2 },
  STOPPED: { grpcStatus: GRPC.UNAVAILABLE, httpStatus: 503, cliExitCode: 3 },
  INVALID_SCOPE: { grpcStatus: GRPC.INVALID_ARGUMENT, httpStatus: 400, cliExitCode: 2 },
  STALE_FENCE: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  NOT_HOLDER: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  NOT_WAITING: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  HELD_BY_OTHER_SESSION: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  TTL_OUT_OF_RANGE: { grpcStatus: GRPC.INVALID_ARGUMENT, httpStatus: 400, cliExitCode: 2 },
  METADATA_TOO_LARGE: { grpcStatus: GRPC.INVALID_ARGUMENT, httpStatus: 400, cliExitCode: 2 },
  BATCH_TOO_LARGE: { grpcStatus: GRPC.INVALID_ARGUMENT, httpStatus: 400, cliExitCode: 2 },
  QUEUE_FULL: { grpcStatus: GRPC.RESOURCE_EXHAUSTED, httpStatus: 429, cliExitCode: 6 },
  SCOPE_LIMIT_REACHED: { grpcStatus: GRPC.RESOURCE_EXHAUSTED, httpStatus: 429, cliExitCode: 6 },
  LIMIT_REACHED: { grpcStatus: GRPC.RESOURCE_EXHAUSTED, httpStatus: 429, cliExitCode: 6 },
  COMPACTED: { grpcStatus: GRPC.OUT_OF_RANGE, httpStatus: 410, cliExitCode: 4 },
  UNAUTHENTICATED: { grpcStatus: GRPC.UNAUTHENTICATED, httpStatus: 401, cliExitCode: 7 },
  PERMISSION_DENIED: { grpcStatus: GRPC.PERMISSION_DENIED, httpStatus: 403, cliExitCode: 7 },
  // A passive or draining cluster refuses grants; the body names the active cluster
  // (activeClusterId, activeEndpoints) for the client to go to.
  CLUSTER_PASSIVE: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  CLUSTER_ACTIVE: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  EPOCH_REGRESSION: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  FENCE_SPACE_EXHAUSTED: { grpcStatus: GRPC.FAILED_PRECONDITION, httpStatus: 409, cliExitCode: 5 },
  MIRROR_OUT_OF_ORDER: { grpcStatus: GRPC.ABORTED, httpStatus: 409, cliExitCode: 5 },
  INTERNAL: { grpcStatus: GRPC.INTERNAL, httpStatus: 500, cliExitCode: 1 },
};

/**
 * ServerError is an operating error with a code from the table, a message that says what to do
 * next, and optional context fields that travel in the JSON body.
 *
 * Only INTERNAL carries a stack trace. Every other code is an answer to a caller (a refusal, a
 * redirect, a bad input), its message says everything, and its stack is never shown: the stack
 * capture was the costliest part of refusing. A leader over capacity refused 25,000 acquires with
 * BACKPRESSURE in one scale run and spent 2.9 s of its CPU building the stacks (about 118 µs each,
 * its V8 profile), time taken from the renewals the refusals were protecting. Shedding load must
 * cost less than the load it sheds.
 */
export class ServerError extends Error {
  override readonly name = 'ServerError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, string | number | boolean>> = {},
  ) {
    const limit = Error.stackTraceLimit;
    if (code !== 'INTERNAL') Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/** isServerError tells a ServerError (of `code`, if given) apart, across Jest realms. */
export function isServerError(e: unknown, code?: ErrorCode): e is ServerError {
  if (typeof e !== 'object' || e === null || (e as { name?: unknown }).name !== 'ServerError') return false;
  return code === undefined || (e as { code?: unknown }).code === code;
}

/**
 * toServerError turns anything thrown into a ServerError: known codes keep their code, message
 * and leader hint; anything else becomes INTERNAL with a generic message (no stack leaks).
 */
export function toServerError(e: unknown): ServerError {
  if (isServerError(e)) return e;
  if (typeof e === 'object' && e !== null) {
    const { code, message, leaderHint } = e as { code?: unknown; message?: unknown; leaderHint?: unknown };
    if (typeof code === 'string' && code in ERROR_TABLE && typeof message === 'string') {
      const details = typeof leaderHint === 'string' && leaderHint.length > 0 ? { leaderHint } : {};
      return new ServerError(code as ErrorCode, message, details);
    }
  }
  return new ServerError('INTERNAL', 'internal error; the server logged the details');
}
