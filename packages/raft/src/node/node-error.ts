import type { NodeId } from '../core/index';

/**
 * RaftNodeErrorCode is every way a request to a RaftNode can fail. Codes map one-to-one onto
 * gRPC and HTTP statuses at the server's edge.
 */
export type RaftNodeErrorCode =
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
  | 'STOPPED';

/**
 * RaftNodeError is a typed, expected failure. `leaderHint` names the leader this node knows of
 * (empty when unknown), so a caller can redirect. The message says what to do next.
 */
export class RaftNodeError extends Error {
  override readonly name = 'RaftNodeError';

  constructor(
    readonly code: RaftNodeErrorCode,
    message: string,
    readonly leaderHint: NodeId = '',
  ) {
    super(message);
  }
}

/** isRaftNodeError tells a RaftNodeError (of `code`, if given) apart, across Jest realms. */
export function isRaftNodeError(e: unknown, code?: RaftNodeErrorCode): e is RaftNodeError {
  if (typeof e !== 'object' || e === null || (e as { name?: unknown }).name !== 'RaftNodeError') return false;
  return code === undefined || (e as { code?: unknown }).code === code;
}
