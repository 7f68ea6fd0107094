/**
 * The node runtime: a RaftCore driven by timers, LevelDB and the gRPC peer transport.
 */
export { RaftNode } from './raft-node';
export type { CompactionReport, RaftNodeEvents, RaftNodeStatus } from './raft-node';
export type { EventLoopStall, Stall } from './stall-probe';
export { RECENT_STALL_MS, RECENT_STALLS_MAX } from './stall-probe';
export { RAFT_NODE_DEFAULTS, RaftNodeConfigError, validateRaftNodeConfig } from './node-config';
export type { RaftNodeConfig, RaftNodeLimits, RaftNodeTimings } from './node-config';
export { RaftNodeError, isRaftNodeError } from './node-error';
export type { RaftNodeErrorCode } from './node-error';
export { wholeSnapshot } from './state-machine';
export type { AppliedCommand, SnapshotCapture, SnapshotInstall, StateMachine } from './state-machine';
