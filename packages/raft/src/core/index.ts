/**
 * The pure Raft core: no clock, no I/O, no promises. See RaftCore and the Ready contract.
 */
export { assert, InvariantViolation, isInvariantViolation } from './assert';
export type { RaftConfig } from './config';
export { RAFT_CONFIG_DEFAULTS, RaftConfigError, validateRaftConfig } from './config';
export type { RaftErrorCode, RaftRefusal } from './errors';
export { ElectionStretch, STRETCH_MEMORY_ELECTIONS, STRETCH_TICKS_MAX_ELECTIONS } from './election-stretch';
export { Inflights } from './inflights';
export {
  INCARNATION_CHARS_MAX,
  LEARNERS_MAX,
  PEER_ADDRESS_CHARS_MAX,
  VOTERS_MAX,
  isPeerAddress,
  isIncarnation,
  incarnationOf,
  applyConfigChange,
  isMember,
  isVoter,
  quorumIndex,
  quorumSize,
  tallyVotes,
} from './membership';
export type { ConfigChangeCheck, VoteTally } from './membership';
export {
  INDEX_MAX,
  MESSAGE_REFUSAL_REASONS,
  TERM_JUMP_MAX,
  TERM_MAX,
  TERM_SAFETY_MARGIN,
  refuseMessage,
} from './message-refusal';
export type { MessageRefusal, MessageRefusalReason } from './message-refusal';
export type * from './messages';
export { MESSAGE_TYPES } from './messages';
export { Progress } from './progress';
export type { ProgressState } from './progress';
export type { Accepted, ProposeResult } from './errors';
export type { RaftStatus } from './raft-status';
export type { ProgressStatus } from './leader-replication';
export { LeaderReplication } from './leader-replication';
export { Outbox } from './outbox';
export { ReadIndexQueue } from './read-index';
export { ConfigurationLog } from './configuration-log';
export { RaftCore } from './raft-core';
export { RaftLog } from './raft-log';
export type { Ready } from './ready';
export type { Rng } from './rng';
export { Mulberry32 } from './rng';
export type { RaftStorage } from './storage';
export { MemoryStorage } from './storage';
export type * from './types';
export { NONE, entrySizeBytes } from './types';
export {
  isWellFormedEntry,
  isWellFormedHardState,
  isWellFormedMessage,
  isWellFormedSnapshotMeta,
} from './validate-message';
