/**
 * The raft package surface: the pure core, LevelDB storage, the gRPC peer transport and the
 * node runtime.
 */
export * from './core/index';
export * from './storage/index';
export * from './transport/index';
export * from './node/index';
