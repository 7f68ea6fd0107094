/**
 * The raft package surface.
 */
export * from './core/index';
