import type * as grpc from '@grpc/grpc-js';

/**
 * SERVER_ERROR_CODES is every code of the server's error table (packages/server/src/errors/
 * error-table.ts); a test keeps the two lists equal. The server sends it in the trailing
 * metadata `omnirelay-error-code`.
 */
export const SERVER_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'NOT_LEADER',
  'BACKPRESSURE',
  'TRANSFER_IN_PROGRESS',
  'NO_QUORUM',
  'DEADLINE_EXCEEDED',
  'PROPOSAL_DROPPED',
  'CONFIG_CHANGE_IN_PROGRESS',
  'INVALID_CONFIG_CHANGE',
  'LEARNER_NOT_CAUGHT_UP',
  'INVALID_TRANSFER_TARGET',
  'STOPPED',
  'INVALID_SCOPE',
  'STALE_FENCE',
  'NOT_HOLDER',
  'NOT_WAITING',
  'HELD_BY_OTHER_SESSION',
  'TTL_OUT_OF_RANGE',
  'METADATA_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'QUEUE_FULL',
  'SCOPE_LIMIT_REACHED',
  'LIMIT_REACHED',
  'COMPACTED',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'CLUSTER_PASSIVE',
  'CLUSTER_ACTIVE',
  'EPOCH_REGRESSION',
  'FENCE_SPACE_EXHAUSTED',
  'MIRROR_OUT_OF_ORDER',
  'INTERNAL',
] as const;

/** ServerErrorCode is one of SERVER_ERROR_CODES. */
export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[number];

/**
 * ClientErrorCode is what the SDK itself reports:
 * - UNAVAILABLE: no node answered within the call's deadline (all down, or unreachable);
 * - LEASE_LOST: a lease ended (the cluster refused its renewal, or it could no longer be
 *   proven alive before its conservative deadline);
 * - CANCELLED: the caller aborted the operation through its AbortSignal;
 * - CLOSED: the client was closed;
 * - SLOW_CONSUMER: the server cut off a watch that fell behind and it could not be resumed.
 */
export type ClientErrorCode = 'UNAVAILABLE' | 'LEASE_LOST' | 'CANCELLED' | 'CLOSED' | 'SLOW_CONSUMER';

/** ErrorCode is any code an OmniRelayError can carry. */
export type ErrorCode = ServerErrorCode | ClientErrorCode;

/** Details are the context fields an error carries (leader hint, revisions, current fence). */
export interface ErrorDetails {
  /** leaderHint is the id of the Raft leader, when a write reached a follower. */
  readonly leaderHint?: string;
  /** leaderAddress is the leader's gRPC address, when the answering node knows it. */
  readonly leaderAddress?: string;
  /** oldestRevision is the oldest revision a node still keeps (COMPACTED). */
  readonly oldestRevision?: bigint;
  /** resumeRevision is where a cut-off watch may resume. */
  readonly resumeRevision?: bigint;
  /** currentFenceToken is the scope's current fence (STALE_FENCE). */
  readonly currentFenceToken?: bigint;
  /** activeClusterId names the active cluster, when a passive one refused a grant (CLUSTER_PASSIVE). */
  readonly activeClusterId?: string;
  /** activeEndpoints are the active cluster's endpoints as the refusing cluster knows them (CLUSTER_PASSIVE). */
  readonly activeEndpoints?: readonly string[];
  /** grpcStatus is the gRPC status the error arrived with, when it came from a call. */
  readonly grpcStatus?: number;
  /** retryAfterMs is how long the server asked the caller to wait before it asks again (BACKPRESSURE). */
  readonly retryAfterMs?: number;
}

/**
 * OmniRelayError is every error the SDK raises: a code (the server's, or the SDK's own), a
 * one-line message that says what to do next, and the context fields that came with it.
 */
export class OmniRelayError extends Error {
  override readonly name = 'OmniRelayError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** isOmniRelayError tells an OmniRelayError (of `code`, if given) apart. */
export function isOmniRelayError(e: unknown, code?: ErrorCode): e is OmniRelayError {
  if (typeof e !== 'object' || e === null || (e as { name?: unknown }).name !== 'OmniRelayError')
    return false;
  return code === undefined || (e as { code?: unknown }).code === code;
}

/** gRPC status numbers the SDK looks at (kept here so this file needs no grpc-js value import). */
export const GRPC_STATUS = {
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
} as const;

function metadataText(metadata: grpc.Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  return value === undefined ? undefined : String(value);
}

function metadataNumber(metadata: grpc.Metadata | undefined, key: string): number | undefined {
  const text = metadataText(metadata, key);
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

function metadataBigint(metadata: grpc.Metadata | undefined, key: string): bigint | undefined {
  const text = metadataText(metadata, key);
  return text !== undefined && /^\d+$/.test(text) ? BigInt(text) : undefined;
}

/**
 * fromGrpcError turns a failed call's status into an OmniRelayError. A status the server sent
 * carries its code in `omnirelay-error-code`; a status without one comes from the transport
 * (connection refused or reset, deadline) and becomes UNAVAILABLE or DEADLINE_EXCEEDED.
 */
export function fromGrpcError(e: unknown, address: string): OmniRelayError {
  const error = e as Partial<grpc.ServiceError>;
  const metadata = error.metadata;
  const status: number | undefined = typeof error.code === 'number' ? Number(error.code) : undefined;
  const serverCode = metadataText(metadata, 'omnirelay-error-code');
  const details: ErrorDetails = {
    ...optional('leaderHint', metadataText(metadata, 'omnirelay-leader-hint')),
    ...optional('leaderAddress', metadataText(metadata, 'omnirelay-leader-address')),
    ...optional('oldestRevision', metadataBigint(metadata, 'omnirelay-oldest-revision')),
    ...optional('resumeRevision', metadataBigint(metadata, 'omnirelay-resume-revision')),
    ...optional('currentFenceToken', metadataBigint(metadata, 'omnirelay-current-fence-token')),
    ...optional('activeClusterId', metadataText(metadata, 'omnirelay-active-cluster-id')),
    ...optional('activeEndpoints', metadataText(metadata, 'omnirelay-active-endpoints')?.split(',')),
    ...optional('grpcStatus', status),
    ...optional('retryAfterMs', metadataNumber(metadata, 'omnirelay-retry-after-ms')),
  };
  const text =
    typeof error.details === 'string' && error.details !== '' ? error.details : String(error.message);
  if (serverCode !== undefined && (SERVER_ERROR_CODES as readonly string[]).includes(serverCode)) {
    return new OmniRelayError(serverCode as ServerErrorCode, text, details);
  }
  if (status === GRPC_STATUS.DEADLINE_EXCEEDED) {
    return new OmniRelayError(
      'DEADLINE_EXCEEDED',
      `${address} did not answer in time; check the node is up and not overloaded`,
      details,
    );
  }
  if (status === GRPC_STATUS.CANCELLED)
    return new OmniRelayError('CANCELLED', 'the call was cancelled', details);
  return new OmniRelayError(
    'UNAVAILABLE',
    `cannot reach ${address} (${text}); check the node is running and the address is right`,
    details,
  );
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * RETRYABLE_CODES are failures after which the same request may go again (to another node, or
 * later) without doing anything twice: the request was not applied, or applying it twice is
 * harmless for the call that retries.
 */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NOT_LEADER',
  'UNAVAILABLE',
  'NO_QUORUM',
  'TRANSFER_IN_PROGRESS',
  'STOPPED',
  'PROPOSAL_DROPPED',
  'BACKPRESSURE',
]);

/** abortError is the error an aborted operation rejects with. */
export function abortError(what: string): OmniRelayError {
  return new OmniRelayError('CANCELLED', `${what} was aborted by the caller`);
}

/** aborted reads a signal's state through a call, so TypeScript does not narrow it across awaits. */
export function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** untilAborted is `promise`, or its rejection with CANCELLED once `signal` aborts (the shared work goes on for the others). */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortError(what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
