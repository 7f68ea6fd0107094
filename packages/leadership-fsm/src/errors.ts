/**
 * LeadershipErrorCode is the fixed set of operating errors of the leadership state machine.
 * Each is a refusal of bad input; the server maps each code to a gRPC status, an HTTP status
 * and a CLI exit code in one table.
 *
 * - INVALID_SCOPE: a scope name that breaks the rules in `SCOPE_NAME_RULES`.
 * - INVALID_ARGUMENT: a field out of its documented shape or range (candidate id, priority, …).
 * - STALE_FENCE: a fence token that is not the current holder's.
 * - NOT_HOLDER: a scope with no holder where the command needs one (step-down).
 * - NOT_WAITING: a withdraw for a candidate that is not in the scope's queue.
 * - HELD_BY_OTHER_SESSION: an acquire or campaign whose candidate id already holds (or waits for)
 *   the scope in another client session: two processes sharing a candidate id must not both hold.
 * - MALFORMED_COMMAND: bytes that are not a msgpack command of the documented shape.
 * - UNKNOWN_COMMAND: a well-formed command whose `type` this version does not know.
 * - COMMAND_TOO_LARGE: encoded command bytes over `COMMAND_BYTES_MAX`.
 * - TTL_OUT_OF_RANGE: a lease TTL outside [`LEASE_TTL_MS_MIN`, `LEASE_TTL_MS_MAX`].
 * - METADATA_TOO_LARGE: metadata over `METADATA_BYTES_MAX` UTF-8 bytes.
 * - BATCH_TOO_LARGE: a renew or expire batch over its bound, or an empty one.
 * - QUEUE_FULL: a campaign into a scope whose queue has `QUEUE_LENGTH_MAX` waiters.
 * - SCOPE_LIMIT_REACHED: a new scope when `SCOPE_COUNT_MAX` scopes exist.
 * - INVALID_SNAPSHOT: snapshot bytes of an unknown format or a broken shape.
 * - CLUSTER_PASSIVE: a grant (acquire, campaign, a step-down to a successor) asked of a cluster
 *   that is passive or draining; the error names the active cluster and its endpoints when known.
 * - CLUSTER_ACTIVE: a mirror entry for a cluster that is active (it mirrors nobody).
 * - EPOCH_REGRESSION: a descriptor whose failover epoch is below the one the cluster has, or a
 *   promotion to active that does not raise the epoch above every epoch known.
 * - FENCE_SPACE_EXHAUSTED: a grant at a Raft index above FENCE_INDEX_MAX, or a promotion past
 *   FAILOVER_EPOCH_MAX: refused, never wrapped.
 * - MIRROR_OUT_OF_ORDER: a mirror entry at or below the source revision the mirror already has,
 *   or from another source without `reset`.
 */
export type LeadershipErrorCode =
  | 'INVALID_SCOPE'
  | 'INVALID_ARGUMENT'
  | 'STALE_FENCE'
  | 'NOT_HOLDER'
  | 'NOT_WAITING'
  | 'HELD_BY_OTHER_SESSION'
  | 'MALFORMED_COMMAND'
  | 'UNKNOWN_COMMAND'
  | 'COMMAND_TOO_LARGE'
  | 'TTL_OUT_OF_RANGE'
  | 'METADATA_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'QUEUE_FULL'
  | 'SCOPE_LIMIT_REACHED'
  | 'INVALID_SNAPSHOT'
  | 'CLUSTER_PASSIVE'
  | 'CLUSTER_ACTIVE'
  | 'EPOCH_REGRESSION'
  | 'FENCE_SPACE_EXHAUSTED'
  | 'MIRROR_OUT_OF_ORDER';

/**
 * LeadershipErrorContext is the structured context an error carries next to its message: the
 * scope concerned, the offending field, the bound it broke, and for fence errors the token
 * given and the current holder's token (null when the scope is vacant).
 */
export interface LeadershipErrorContext {
  readonly scope?: string;
  readonly field?: string;
  readonly limit?: number;
  readonly fenceToken?: bigint;
  readonly currentFenceToken?: bigint | null;
  /** activeClusterId names the active cluster a passive one sends its clients to ('' when none is known). */
  readonly activeClusterId?: string;
  /** activeEndpoints lists that cluster's endpoints, comma-separated. */
  readonly activeEndpoints?: string;
  /** failoverEpoch is this cluster's failover epoch, on cluster refusals. */
  readonly failoverEpoch?: number;
}

/**
 * CommandError is a refusal as plain data, the shape an apply result carries: a code, a
 * message that says what is allowed, and the context. It is a pure function of the command
 * and the state, so every replica produces the same one.
 */
export interface CommandError extends LeadershipErrorContext {
  readonly code: LeadershipErrorCode;
  readonly message: string;
}

/**
 * LeadershipError is the exception the validation helpers throw (scope names, commands,
 * snapshots, query arguments). `apply` never lets one escape: it turns it into a CommandError
 * result. Test for it with `isLeadershipError`, not `instanceof`.
 */
export class LeadershipError extends Error {
  override readonly name = 'LeadershipError';
  readonly isLeadershipError = true;
  readonly code: LeadershipErrorCode;
  readonly context: LeadershipErrorContext;

  constructor(code: LeadershipErrorCode, message: string, context: LeadershipErrorContext = {}) {
    super(message);
    this.code = code;
    this.context = context;
  }

  /** toCommandError returns this error as plain data for an apply result. */
  toCommandError(): CommandError {
    return { code: this.code, message: this.message, ...this.context };
  }
}

/**
 * isLeadershipError tells whether `e` is a LeadershipError, optionally of one code. It works
 * across Jest realms because it checks a brand field, not the prototype chain.
 */
export function isLeadershipError(e: unknown, code?: LeadershipErrorCode): e is LeadershipError {
  if (typeof e !== 'object' || e === null) {
    return false;
  }
  const candidate = e as { isLeadershipError?: unknown; code?: unknown };
  return candidate.isLeadershipError === true && (code === undefined || candidate.code === code);
}
