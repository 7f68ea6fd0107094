/**
 * StorageErrorCode says what went wrong with the durable store: it is corrupt (or of another
 * format), it belongs to another cluster id, a write failed (after which the node must stop: the
 * state of the page cache is unknown, the "fsyncgate" lesson), or it holds a term no election can
 * move past (above TERM_MAX, put there by a bad peer message before nodes refused one, issue 22).
 */
export type StorageErrorCode =
  'STORAGE_CORRUPT' | 'STORAGE_WRITE_FAILED' | 'STORAGE_WRONG_CLUSTER' | 'STORAGE_TERM_UNUSABLE';

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
    super(StorageError.describe(code, dataDir, detail), options);
  }

  private static describe(code: StorageErrorCode, dataDir: string, detail: string): string {
    if (code === 'STORAGE_CORRUPT') {
      return (
        `the Raft store in ${dataDir} is corrupt: ${detail}. It was left untouched. ` +
        `To recover, stop this node, move ${dataDir} aside (keep it for diagnosis), and rejoin the ` +
        `node as a new member so that it catches up from the leader.`
      );
    }
    if (code === 'STORAGE_WRONG_CLUSTER') {
      return (
        `the Raft store in ${dataDir} is of another cluster: ${detail}. It was left untouched. ` +
        `If this node belongs to that cluster, start it with that --cluster-id; if the folder is ` +
        `left over from another cluster, move ${dataDir} aside and start this node with an empty ` +
        `folder, so that it joins and waits to be added (--initial-cluster-state existing).`
      );
    }
    if (code === 'STORAGE_TERM_UNUSABLE') {
      return (
        `the Raft store in ${dataDir} cannot be used: ${detail}, so no election could ever follow it ` +
        `(a bad peer message set it before nodes refused such terms). It was left untouched. To recover, ` +
        `stop this node, move ${dataDir} aside (keep it for diagnosis), and rejoin the node as a new member ` +
        `(remove it, start it with an empty folder and --join, add it as a learner, promote it) so that it ` +
        `catches up from the leader of the other members. If every member refuses to start with this error, ` +
        `the cluster has no usable term left: see "Running a node" in the README.`
      );
    }
    return (
      `a durable write to the Raft store in ${dataDir} failed: ${detail}. The node stops, because ` +
      `what reached the disk is unknown. Check the disk (space, permissions, hardware errors), then restart it.`
    );
  }
}

/** isStorageError tells a StorageError (of `code`, if given) apart from other errors, across Jest realms. */
export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  if (typeof e !== 'object' || e === null || (e as { name?: unknown }).name !== 'StorageError') return false;
  return code === undefined || (e as { code?: unknown }).code === code;
}
