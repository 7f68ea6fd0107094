/**
 * @omnirelay/client-sdk: campaign for scopes, keep leases alive, watch who leads and guard
 * downstream resources with fence tokens. Start with createClient.
 */
export { createClient, OmniRelayClient } from './client';
export type {
  AcquireOptions,
  CampaignOptions,
  ClientOptions,
  MemberInfo,
  Members,
  NodeStatus,
  ReadOptions,
  StepDownOptions,
  StepDownResult,
} from './client';
export type {
  ClusterDescriptorView,
  ClustersView,
  FailoverRecordView,
  FailoverStepOptions,
  SetClusterOptions,
} from './clusters';
export { chooseActive } from './cluster-follower';
export type { ActiveChoice, ClusterEndpoints, ClusterEvent } from './cluster-follower';
export { OmniRelayError, isOmniRelayError, SERVER_ERROR_CODES } from './errors';
export type { ClientErrorCode, ErrorCode, ErrorDetails, ServerErrorCode } from './errors';
export { FenceGuard } from './fence-guard';
export type { FenceGuardOptions } from './fence-guard';
export { LeaderElector } from './leader-elector';
export type { LeaderElectorOptions, StoppedReason } from './leader-elector';
export { Lease } from './lease';
export type { LeaseEndReason } from './lease';
export type { CancelReason, RenewalEvent } from './keep-alive';
export type { TlsOptions } from './router';
export { TOKEN_CHARSET, TOKEN_LENGTH_MAX, TOKEN_LENGTH_MIN, tokenProblem } from './token';
export type { TokenSource } from './token';
export type { SnapshotOptions } from './snapshot';
export type { WatchOptions } from './watch';
export { expiresAtOf } from './wire';
export type { HolderChangeReason, HolderRef, LeadershipEvent, LeaseView } from './wire';
