/**
 * The server package surface: configuration, the error table and the HTTP client port.
 */
export { ConfigError, LOG_LEVELS, SETTINGS, loadServerConfig } from './config/server-config';
export type { ServerConfig } from './config/server-config';
export { ERROR_TABLE, ServerError, isServerError, toServerError } from './errors/error-table';
export type { ErrorCode, ErrorMapping } from './errors/error-table';
export { startServer } from './server';
export { SERVER_NODE_ENV, SERVER_NODE_FLAGS } from './runtime-flags';
export type { OmniRelayServer } from './server';
export { LeadershipService, fromLeadershipError } from './leadership/leadership-service';
export type {
  AcquireRequest,
  AppliedTerm,
  CampaignElected,
  CampaignRequest,
  LeaderAddresses,
  LeaderDirectory,
  ReadConsistency,
} from './leadership/leadership-service';
export {
  RELEASE_ON_RESET_MS_MIN,
  RELEASE_ON_RESET_PENDING_MAX,
  ResetReleaser,
} from './leadership/reset-releaser';
export type { ResetRelease } from './leadership/reset-releaser';
export { LeadershipStateMachine } from './leadership/leadership-state-machine';
export { WatchHub } from './leadership/watch-hub';
export type { RevisionEvents, Watch, WatchSink } from './leadership/watch-hub';
export { toJson } from './http/json';
export { startHttpServer } from './http/http-server';
export type { ClientHttpServer, HttpServerOptions } from './http/http-server';
export { LocalCluster, freePort } from './local-cluster/local-cluster';
export type { HttpReply } from './local-cluster/local-cluster';
export type { LocalClusterOptions, LocalNode, NodeStatus } from './local-cluster/local-cluster';
export {
  CALM_ELECTION_FLAGS,
  CALM_LEADER_WAIT_MS,
  followActive,
  grpcEndpoints,
} from './local-cluster/active-passive';
export type { ClusterRole } from './local-cluster/active-passive';
export { startGrpcServer } from './grpc/grpc-server';
export type { ClientGrpcServer, GrpcServerOptions } from './grpc/grpc-server';
export { PUBLIC_PROTO_LOADER_OPTIONS, LEADERSHIP_PROTO_PATH, loadPublicApi } from './grpc/proto';
export {
  FORWARDED_BY_METADATA_KEY,
  FORWARDED_TO_METADATA_KEY,
  GRPC_FORWARD_UNARY_TIMEOUT_MS,
} from './grpc/forwarder';
export { CLIENT_END_SETTLE_MS } from './grpc/client-end';
export type { GrpcKeepalive, GrpcLimits } from './grpc/limits';
export {
  KEEPALIVE_LEASES_PER_MESSAGE_MAX,
  KEEPALIVE_LEASES_PER_STREAM_MAX,
  WATCH_STREAM_BUFFER_BYTES_MAX,
  GRPC_RECEIVE_MESSAGE_BYTES_MAX,
  GRPC_KEEPALIVE_TIME_MS,
  GRPC_KEEPALIVE_TIMEOUT_MS,
} from './grpc/limits';
export { STREAM_LIMIT_NAMES, STREAM_LIMITS_DEFAULT, StreamLimiter } from './limits/stream-limiter';
export type { StreamClaim, StreamLimitName, StreamLimits } from './limits/stream-limiter';
export { createServerMetrics } from './metrics/server-metrics';
export type { ServerMetrics, ServerMetricsOptions } from './metrics/server-metrics';
