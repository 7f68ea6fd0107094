/**
 * The server package surface: configuration, the error table and the HTTP client port.
 */
export { ConfigError, LOG_LEVELS, SETTINGS, loadServerConfig } from './config/server-config';
export type { ServerConfig } from './config/server-config';
export { ERROR_TABLE, ServerError, isServerError, toServerError } from './errors/error-table';
export type { ErrorCode, ErrorMapping } from './errors/error-table';
export { startServer } from './server';
export type { OmniRelayServer } from './server';
export { LeadershipService, fromLeadershipError } from './leadership/leadership-service';
export type { AcquireRequest, CampaignRequest, ReadConsistency } from './leadership/leadership-service';
export { LeadershipStateMachine } from './leadership/leadership-state-machine';
export { WatchHub } from './leadership/watch-hub';
export type { RevisionEvents, Watch, WatchSink } from './leadership/watch-hub';
export { toJson } from './http/json';
export { startHttpServer } from './http/http-server';
export type { ClientHttpServer, HttpServerOptions } from './http/http-server';
export { LocalCluster, freePort } from './local-cluster/local-cluster';
export type { LocalClusterOptions, LocalNode, NodeStatus } from './local-cluster/local-cluster';
