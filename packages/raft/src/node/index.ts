/**
 * The node runtime: a RaftCore driven by timers, LevelDB and the gRPC peer transport.
 */
export { RaftNode } from './raft-node';
export type { RaftNodeEvents, RaftNodeStatus } from './raft-node';
export { RAFT_NODE_DEFAULTS, RaftNodeConfigError, validateRaftNodeConfig } from './node-config';
export type { RaftNodeConfig, RaftNodeLimits, RaftNodeTimings } from './node-config';
export { RaftNodeError, isRaftNodeError } from './node-error';
export type { RaftNodeErrorCode } from './node-error';
export type { AppliedCommand, StateMachine } from './state-machine';
