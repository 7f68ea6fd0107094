/**
 * Durable Raft state in LevelDB: one synced batch per Ready, an in-memory mirror for the core.
 */
export { LevelStorage, SNAPSHOT_CHUNK_BYTES } from './level-storage';
export type { LevelStorageOptions, SaveBatch } from './level-storage';
export { STORAGE_ERROR_CODES, StorageError, isStorageError } from './storage-error';
export type { StorageErrorCode } from './storage-error';
export { STORAGE_FORMAT_VERSION } from './codec';
export { INITIAL_CLUSTER_STATES } from './store-identity';
export type { InitialClusterState, StoreIdentity } from './store-identity';
