import * as grpc from '@grpc/grpc-js';
import type { ErrorCode } from '../errors/error-table';
import { ERROR_TABLE, toServerError } from '../errors/error-table';

/** ERROR_CODE_METADATA_KEY is the trailing-metadata key that carries the error's code (e.g. STALE_FENCE). */
export const ERROR_CODE_METADATA_KEY = 'omnirelay-error-code';

/**
 * DETAIL_METADATA_KEYS maps the context fields a client can act on to trailing-metadata keys:
 * where the leader is (its public gRPC address: a gRPC client goes there, not to the HTTP
 * `leaderAddress`), where to resume a watch, which fence is current, which limit refused the call and its value, which cluster is active (CLUSTER_PASSIVE). Other context stays in the
 * message; the list is fixed so the metadata is bounded.
 */
export const DETAIL_METADATA_KEYS: Readonly<Record<string, string>> = {
  leaderHint: 'omnirelay-leader-hint',
  leaderGrpcAddress: 'omnirelay-leader-address',
  resumeRevision: 'omnirelay-resume-revision',
  oldestRevision: 'omnirelay-oldest-revision',
  currentFenceToken: 'omnirelay-current-fence-token',
  limitName: 'omnirelay-limit-name',
  limitValue: 'omnirelay-limit-value',
  activeClusterId: 'omnirelay-active-cluster-id',
  activeEndpoints: 'omnirelay-active-endpoints',
  retryAfterMs: 'omnirelay-retry-after-ms',
};

/** GrpcServiceError is what grpc-js sends as a call's status: code, details, trailing metadata. */
export interface GrpcServiceError extends Error {
  readonly code: grpc.status;
  readonly details: string;
  readonly metadata: grpc.Metadata;
  /** errorCode is the server's code behind the status (for logs). */
  readonly errorCode: ErrorCode;
}

/**
 * toServiceError turns anything thrown into a gRPC status using ERROR_TABLE: the code's status,
 * the message as details, and the code and actionable context as trailing metadata. Anything
 * that is not an operating error becomes INTERNAL with a generic message; the stack never leaves
 * the server (the caller logs it).
 */
export function toServiceError(e: unknown): GrpcServiceError {
  const error = toServerError(e);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, error.code);
  for (const [field, key] of Object.entries(DETAIL_METADATA_KEYS)) {
    const value = error.details[field];
    if (value !== undefined && value !== '') metadata.set(key, String(value));
  }
  const status = ERROR_TABLE[error.code].grpcStatus as grpc.status;
  // A plain object, not an Error: grpc-js reads code/details/metadata, and no stack is captured.
  return {
    name: 'GrpcServiceError',
    message: error.message,
    code: status,
    details: error.message,
    metadata,
    errorCode: error.code,
  };
}
