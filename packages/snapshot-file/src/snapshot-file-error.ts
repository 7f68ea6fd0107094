/** SNAPSHOT_FILE_ERROR_CODES lists every code a SnapshotFileError can carry. */
export const SNAPSHOT_FILE_ERROR_CODES = [
  'SNAPSHOT_NOT_A_SNAPSHOT',
  'SNAPSHOT_VERSION_UNSUPPORTED',
  'SNAPSHOT_CHECKSUM_MISMATCH',
  'SNAPSHOT_MALFORMED',
] as const;

/**
 * SnapshotFileErrorCode says why bytes are not a usable backup: not one at all (no magic header,
 * or too short to hold one), a format version this build cannot read, a checksum that does not
 * match (the file was cut short or changed after it was saved), or a header that checks out but
 * does not describe the bytes (only a bug could write one).
 */
export type SnapshotFileErrorCode = (typeof SNAPSHOT_FILE_ERROR_CODES)[number];

/** SnapshotFileError is a backup file that cannot be used, with the reason as its code. */
export class SnapshotFileError extends Error {
  override readonly name = 'SnapshotFileError';

  constructor(
    readonly code: SnapshotFileErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** isSnapshotFileError tells whether `e` is a SnapshotFileError (with `code`, when given), across Jest realms. */
export function isSnapshotFileError(e: unknown, code?: SnapshotFileErrorCode): e is SnapshotFileError {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as { name?: unknown; code?: unknown };
  return o.name === 'SnapshotFileError' && (code === undefined || o.code === code);
}
