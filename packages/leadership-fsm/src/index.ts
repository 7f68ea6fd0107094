/**
 * @omnirelay/leadership-fsm: the deterministic state machine every Raft replica applies. It
 * decides who holds each scope, issues fence tokens and records every holder change. Pure: no
 * clock, no I/O; its only dependency is msgpackr.
 */
export { InvariantViolation, assert, isInvariantViolation } from './assert';
export type { FailoverStepCommand, MirrorChange, MirrorCommand, SetClusterCommand } from './cluster-commands';
export { CLUSTER_ID_RULES, FAILOVER_STEP_FIELDS, SET_CLUSTER_FIELDS } from './cluster-commands';
export type { FailoverRecord, FailoverStep } from './cluster-history';
export { FAILOVER_STEPS } from './cluster-history';
export type { ClusterDescriptor, ClusterState, MirroredHolder, MirroredScope } from './cluster-topology';
export { CLUSTER_STATES } from './cluster-topology';
export type { ClusterVersionVector, ClusterView, MirrorPage, MirrorRequest } from './cluster-view';
export { decodeCommand, encodeCommand } from './codec';
export type {
  AcquireCommand,
  CampaignCommand,
  Command,
  CommandType,
  ExpireCommand,
  GraceCommand,
  LeaseRef,
  RenewCommand,
  ResignCommand,
  StepDownCommand,
  Successor,
  WithdrawCommand,
} from './commands';
export { COMMAND_TYPES, FENCE_TOKEN_MAX, fenceTokenProblem, parseCommand } from './commands';
export type { DueLease } from './deadline-index';
export type { CommandError, LeadershipErrorCode, LeadershipErrorContext } from './errors';
export { LeadershipError, isLeadershipError } from './errors';
export type { HolderChangeReason, HolderRef, LeadershipEvent } from './events';
export { decodeEvents, encodeEvent, encodeEvents, eventFields } from './events';
export {
  FAILOVER_EPOCH_MAX,
  FENCE_INDEX_BITS,
  FENCE_INDEX_MAX,
  epochOfFence,
  fenceOf,
  indexOfFence,
} from './fence';
export type { FsmRestore, FsmStats, LogEntry, NoopEntry } from './fsm';
export { LeadershipFsm } from './fsm';
export { leaseListBytesMax, leaseRefBytesMax } from './lease-batch';
export type { LeaseView } from './lease';
export * from './limits';
export type { ListHoldersPage, ListHoldersRequest, ScopeView } from './queries';
export type { Waiter } from './queue';
export type {
  AcquireOutcome,
  ApplyResult,
  CampaignOutcome,
  CommandOutcome,
  ExpireItem,
  ExpireOutcome,
  GraceOutcome,
  MirrorOutcome,
  FailoverStepOutcome,
  SetClusterOutcome,
  RenewItem,
  RenewOutcome,
  ResignOutcome,
  StepDownOutcome,
  WithdrawOutcome,
} from './results';
export {
  GLOBAL_CONTROL_SCOPE,
  SCOPE_NAME_RULES,
  SHARD_SCOPE_PREFIX,
  isValidScopeName,
  scopeNameProblem,
  shardScope,
  validateScopeName,
} from './scope-name';
export { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_CLUSTER, SNAPSHOT_FORMAT_SESSIONLESS } from './snapshot';
export { SnapshotCapture } from './snapshot-capture';
export {
  CANDIDATE_ID_RULES,
  CORRELATION_ID_RULES,
  SESSION_ID_RULES,
  isValidSessionId,
  utf8ByteLength,
  validateCandidateId,
  validateCorrelationId,
  validateMetadata,
  validateSessionId,
} from './text';
