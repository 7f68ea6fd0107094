/**
 * LevelFailureKind is what a failure reported by LevelDB (classic-level) or by the file system
 * under it means for the operator:
 *
 * - `locked`: another process (or another open in this one) holds the store's LOCK file;
 * - `disk-full`: the file system has no space (or quota) left;
 * - `access-denied`: this process may not read or write the folder or a file in it, or the file
 *   system is mounted read-only;
 * - `not-a-folder`: the data folder, or a folder on its path, is a regular file;
 * - `corrupt`: LevelDB found the store damaged, or a file the store refers to is missing;
 * - `other`: anything else (an I/O error of the device, an unknown failure).
 */
export type LevelFailureKind =
  'locked' | 'disk-full' | 'access-denied' | 'not-a-folder' | 'corrupt' | 'other';

/** LevelFailure is a classified failure: its kind and the most specific message found in its cause chain. */
export interface LevelFailure {
  readonly kind: LevelFailureKind;
  readonly detail: string;
}

/** CAUSE_DEPTH_MAX bounds the walk down an error's `cause` chain (classic-level nests one level). */
const CAUSE_DEPTH_MAX = 8;

/**
 * The errno names Node.js reports (classic-level creates the folder with fs.mkdir before LevelDB
 * opens it) and the strerror texts LevelDB puts in its `IO error: <file>: <text>` messages, which
 * carry no errno of their own. Each was observed on Linux with classic-level 3 (see
 * packages/raft/test/storage/level-failure.test.ts).
 */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const DISK_FULL_TEXT = /No space left on device|Disk quota exceeded/;
const ACCESS_DENIED_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);
const ACCESS_DENIED_TEXT = /Permission denied|Operation not permitted|Read-only file system/;
/** EEXIST comes from fs.mkdir of a path that exists but is not a folder. */
const NOT_A_FOLDER_CODES = new Set(['ENOTDIR', 'EEXIST']);
const NOT_A_FOLDER_TEXT = /Not a directory/;
/** A LevelDB `IO error` for a missing file: CURRENT names a MANIFEST that is gone, or a table file is. */
const MISSING_FILE_TEXT = /No such file or directory/;

/**
 * classifyLevelFailure says what a LevelDB or file-system error means (see LevelFailureKind). It
 * reads the `code` and `message` of the error and of its causes; it never throws.
 */
export function classifyLevelFailure(e: unknown): LevelFailure {
  const codes: string[] = [];
  const messages: string[] = [];
  let current: unknown = e;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX && typeof current === 'object' && current !== null; depth++) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    if (typeof message === 'string') messages.push(message);
    current = cause;
  }
  if (messages.length === 0) messages.push(String(e));
  // The innermost message is the specific one ("IO error: /d/LOCK: Resource temporarily unavailable");
  // the outer ones are generic ("Database failed to open").
  const detail = messages[messages.length - 1]!;
  return { kind: kindOf(codes, messages.join('\n')), detail };
}

function kindOf(codes: readonly string[], text: string): LevelFailureKind {
  const hasCode = (set: ReadonlySet<string>): boolean => codes.some((c) => set.has(c));
  if (codes.includes('LEVEL_LOCKED')) return 'locked';
  if (hasCode(DISK_FULL_CODES) || DISK_FULL_TEXT.test(text)) return 'disk-full';
  if (hasCode(ACCESS_DENIED_CODES) || ACCESS_DENIED_TEXT.test(text)) return 'access-denied';
  if (hasCode(NOT_A_FOLDER_CODES) || NOT_A_FOLDER_TEXT.test(text)) return 'not-a-folder';
  if (codes.includes('LEVEL_CORRUPTION')) return 'corrupt';
  if (codes.includes('LEVEL_IO_ERROR') && MISSING_FILE_TEXT.test(text)) return 'corrupt';
  return 'other';
}
