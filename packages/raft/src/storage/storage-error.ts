/**
 * StorageErrorCode says what went wrong with the durable store, so that the operator gets the
 * right advice (and the process its own exit code, see packages/server/src/errors/exit-codes.ts):
 *
 * - `STORAGE_CORRUPT`: LevelDB or the load found the store damaged (or of another format);
 * - `STORAGE_LOCKED`: another process holds the store open (its LOCK file);
 * - `STORAGE_ACCESS_DENIED`: this process may not read or write the folder (permissions, read-only mount);
 * - `STORAGE_NOT_A_FOLDER`: the data folder, or a folder on its path, is a regular file;
 * - `STORAGE_DISK_FULL`: the file system is full, at open or on a write (then the node stops, as
 *   after any failed write);
 * - `STORAGE_OPEN_FAILED`: LevelDB could not open the store for another reason (an I/O error);
 * - `STORAGE_WRITE_FAILED`: a durable write failed, after which the node must stop: the state of
 *   the page cache is unknown (the "fsyncgate" lesson);
 * - `STORAGE_WRONG_CLUSTER`: the store belongs to another cluster id;
 * - `STORAGE_TERM_UNUSABLE`: it holds a term no election can move past (above TERM_MAX, put there
 *   by a bad peer message before nodes refused one, issue 22).
 *
 * Only `STORAGE_CORRUPT` (and `STORAGE_TERM_UNUSABLE`) tell the operator to move the folder aside:
 * for every other code the store is fine and the cause lies around it.
 */
export type StorageErrorCode =
  | 'STORAGE_CORRUPT'
  | 'STORAGE_LOCKED'
  | 'STORAGE_ACCESS_DENIED'
  | 'STORAGE_NOT_A_FOLDER'
  | 'STORAGE_DISK_FULL'
  | 'STORAGE_OPEN_FAILED'
  | 'STORAGE_WRITE_FAILED'
  | 'STORAGE_WRONG_CLUSTER'
  | 'STORAGE_TERM_UNUSABLE';

/** STORAGE_ERROR_CODES lists every StorageErrorCode. */
export const STORAGE_ERROR_CODES: readonly StorageErrorCode[] = [
  'STORAGE_CORRUPT',
  'STORAGE_LOCKED',
  'STORAGE_ACCESS_DENIED',
  'STORAGE_NOT_A_FOLDER',
  'STORAGE_DISK_FULL',
  'STORAGE_OPEN_FAILED',
  'STORAGE_WRITE_FAILED',
  'STORAGE_WRONG_CLUSTER',
  'STORAGE_TERM_UNUSABLE',
];

/**
 * ADVICE words each code's message: what happened, whether the store is damaged, and what to do
 * next. A Record, so a new code cannot go without one.
 */
const ADVICE: Readonly<Record<StorageErrorCode, (dataDir: string, detail: string) => string>> = {
  STORAGE_CORRUPT: (dataDir, detail) =>
    `the Raft store in ${dataDir} is corrupt: ${detail}. It was left untouched. ` +
    `To recover, stop this node, move ${dataDir} aside (keep it for diagnosis), and rejoin the ` +
    `node as a new member so that it catches up from the leader.`,
  STORAGE_LOCKED: (dataDir, detail) =>
    `the Raft store in ${dataDir} is in use by another process: ${detail}. It was left untouched and ` +
    `is not damaged: do not move it aside. Another omnirelay-server (or a tool) has this folder open: ` +
    `stop it (\`fuser -v ${dataDir}/LOCK\` shows it), or give this node a --data-dir of its own; then start it again.`,
  STORAGE_ACCESS_DENIED: (dataDir, detail) =>
    `this node may not read or write the Raft store in ${dataDir}: ${detail}. It was left untouched and ` +
    `is not damaged: do not move it aside. Give the user the node runs as read and write access to the ` +
    `folder and every file in it (for example chown -R), or mount its file system read-write; then start it again.`,
  STORAGE_NOT_A_FOLDER: (dataDir, detail) =>
    `${dataDir} cannot hold a Raft store: ${detail}. It, or a folder on its path, is a regular file. ` +
    `Nothing was changed. Point --data-dir at a folder (it is created when missing), then start it again.`,
  STORAGE_DISK_FULL: (dataDir, detail) =>
    `the file system of the Raft store in ${dataDir} is full: ${detail}. Nothing that could not be ` +
    `persisted was acknowledged, and the store keeps everything acknowledged before; it is not damaged: ` +
    `do not move it aside. Free space on that file system (or grow it), then start the node again. ` +
    `The metric omnirelay_disk_space_low warns before this happens (--disk-free-bytes-min).`,
  STORAGE_OPEN_FAILED: (dataDir, detail) =>
    `LevelDB could not open the Raft store in ${dataDir}: ${detail}. It was left untouched. Check the ` +
    `disk and its file system first (the kernel log for I/O errors, the mount); if they are healthy and ` +
    `this persists, treat the store as corrupt: move ${dataDir} aside (keep it for diagnosis) and rejoin ` +
    `the node as a new member so that it catches up from the leader.`,
  STORAGE_WRITE_FAILED: (dataDir, detail) =>
    `a durable write to the Raft store in ${dataDir} failed: ${detail}. The node stops, because ` +
    `what reached the disk is unknown. Check the disk (permissions, hardware errors in the kernel log), then restart it.`,
  STORAGE_WRONG_CLUSTER: (dataDir, detail) =>
    `the Raft store in ${dataDir} is of another cluster: ${detail}. It was left untouched. ` +
    `If this node belongs to that cluster, start it with that --cluster-id; if the folder is ` +
    `left over from another cluster, move ${dataDir} aside and start this node with an empty ` +
    `folder, so that it joins and waits to be added (--initial-cluster-state existing).`,
  STORAGE_TERM_UNUSABLE: (dataDir, detail) =>
    `the Raft store in ${dataDir} cannot be used: ${detail}, so no election could ever follow it ` +
    `(a bad peer message set it before nodes refused such terms). It was left untouched. To recover, ` +
    `stop this node, move ${dataDir} aside (keep it for diagnosis), and rejoin the node as a new member ` +
    `(remove it, start it with an empty folder and --join, add it as a learner, promote it) so that it ` +
    `catches up from the leader of the other members. If every member refuses to start with this error, ` +
    `the cluster has no usable term left: see "Running a node" in the README.`,
};

/**
 * StorageError names the data folder and what the operator should do next. It is never retried
 * and never "repaired" by rewriting the store.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly code: StorageErrorCode,
    readonly dataDir: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(ADVICE[code](dataDir, detail), options);
  }
}

/** isStorageError tells a StorageError (of `code`, if given) apart from other errors, across Jest realms. */
export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  if (typeof e !== 'object' || e === null || (e as { name?: unknown }).name !== 'StorageError') return false;
  return code === undefined || (e as { code?: unknown }).code === code;
}
