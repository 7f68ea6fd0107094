/**
 * The backup file format shared by the server (which writes and restores it) and the CLI (which
 * saves and inspects it): see README.md.
 */
export {
  SNAPSHOT_FILE_CHECKSUM_BYTES,
  SNAPSHOT_FILE_HEADER_BYTES_MAX,
  SNAPSHOT_FILE_MAGIC,
  SNAPSHOT_FILE_VERSION,
  decodeSnapshotFile,
  encodeSnapshotFile,
} from './snapshot-file';
export type { SnapshotFile, SnapshotFileHeader, SnapshotFileMembership } from './snapshot-file';
export { SNAPSHOT_FILE_ERROR_CODES, SnapshotFileError, isSnapshotFileError } from './snapshot-file-error';
export type { SnapshotFileErrorCode } from './snapshot-file-error';
