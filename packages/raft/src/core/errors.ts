import type { NodeId } from './types';

/**
 * RaftErrorCode is the fixed set of operating errors the core reports to its caller. They are
 * results, not exceptions: bad input never throws out of the core.
 */
export type RaftErrorCode =
  | 'NOT_LEADER'
  | 'TRANSFER_IN_PROGRESS'
  | 'BACKPRESSURE'
  | 'CONFIG_CHANGE_IN_PROGRESS'
  | 'INVALID_CONFIG_CHANGE'
  | 'LEARNER_NOT_CAUGHT_UP'
  | 'NOT_READY'
  | 'INVALID_TRANSFER_TARGET';

/**
 * RaftRefusal is the core's answer when it refuses a request: a code, a message that says what
 * to do next, and the leader it knows of (NONE when unknown) so the caller can redirect.
 */
export interface RaftRefusal {
  readonly ok: false;
  readonly code: RaftErrorCode;
  readonly message: string;
  readonly leaderHint: NodeId;
}

/** refusal builds a RaftRefusal. */
export function refusal(code: RaftErrorCode, message: string, leaderHint: NodeId): RaftRefusal {
  return { ok: false, code, message, leaderHint };
}

/** ProposeResult is the index and term a proposal was appended at, or why it was refused. */
export type ProposeResult =
  { readonly ok: true; readonly index: number; readonly term: number } | RaftRefusal;

/** Accepted is the answer to a request that was taken; its outcome arrives later through Ready. */
export type Accepted = { readonly ok: true } | RaftRefusal;
