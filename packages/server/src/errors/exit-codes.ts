import type { StorageErrorCode } from '@omnirelay/raft';
import { isStorageError } from '@omnirelay/raft';

/**
 * SERVER_EXIT is how the server process ends, other than through a storage error: 0 after a clean
 * shutdown, 1 after a fatal error that is not the store's (a broken invariant, an unexpected
 * failure), 2 for bad configuration or a port in use.
 */
export const SERVER_EXIT = { OK: 0, FATAL: 1, BAD_CONFIG: 2 } as const;

/**
 * STORAGE_EXIT_CODES gives each storage error its own exit code, so that a supervisor (systemd's
 * RestartPreventExitStatus, a Kubernetes alert) can tell them apart without parsing the message:
 * a restart helps once the lock holder is gone or space is freed, never for a corrupt store.
 * The README ("Exit codes") documents them; keep the two in step.
 */
export const STORAGE_EXIT_CODES: Readonly<Record<StorageErrorCode, number>> = {
  STORAGE_CORRUPT: 10,
  STORAGE_LOCKED: 11,
  STORAGE_ACCESS_DENIED: 12,
  STORAGE_NOT_A_FOLDER: 13,
  STORAGE_DISK_FULL: 14,
  STORAGE_OPEN_FAILED: 15,
  STORAGE_WRITE_FAILED: 16,
  STORAGE_WRONG_CLUSTER: 17,
  STORAGE_TERM_UNUSABLE: 18,
};

/**
 * exitCodeOf is the exit code for the process ending on `e`: the storage error's own code, or
 * `otherwise` (BAD_CONFIG while starting, FATAL once running) for anything else.
 */
export function exitCodeOf(e: unknown, otherwise: number): number {
  return isStorageError(e) ? STORAGE_EXIT_CODES[e.code] : otherwise;
}
