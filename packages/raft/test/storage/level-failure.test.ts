import type { LevelFailureKind } from '../../src/storage/level-failure';
import { classifyLevelFailure } from '../../src/storage/level-failure';

/** notOpen wraps `cause` the way classic-level 3 reports a failed open. */
function notOpen(cause: { code?: string; message: string }): Error {
  return Object.assign(
    new Error('Database failed to open', { cause: Object.assign(new Error(cause.message), cause) }),
    {
      code: 'LEVEL_DATABASE_NOT_OPEN',
    },
  );
}

/**
 * OBSERVED are the errors classic-level 3 reported on Linux for each case (open the same folder
 * from two processes, a folder owned by another user, a path under a regular file, a full tmpfs,
 * a damaged MANIFEST, a CURRENT naming a missing file), as they arrive.
 */
const OBSERVED: ReadonlyArray<[string, unknown, LevelFailureKind]> = [
  [
    'a lock held by another process',
    notOpen({ code: 'LEVEL_LOCKED', message: 'IO error: lock /d/LOCK: Resource temporarily unavailable' }),
    'locked',
  ],
  [
    'a lock held by another open in this process',
    notOpen({ code: 'LEVEL_LOCKED', message: 'IO error: lock /d/LOCK: already held by process' }),
    'locked',
  ],
  [
    'a folder it may not create',
    notOpen({ code: 'EACCES', message: "EACCES: permission denied, mkdir '/p/d'" }),
    'access-denied',
  ],
  [
    'a store whose LOCK it may not write',
    notOpen({ code: 'LEVEL_IO_ERROR', message: 'IO error: /d/LOCK: Permission denied' }),
    'access-denied',
  ],
  [
    'a read-only file system',
    notOpen({ code: 'LEVEL_IO_ERROR', message: 'IO error: /d/LOCK: Read-only file system' }),
    'access-denied',
  ],
  [
    'a path under a regular file',
    notOpen({ code: 'ENOTDIR', message: "ENOTDIR: not a directory, mkdir '/f/d'" }),
    'not-a-folder',
  ],
  [
    'a path that is a regular file',
    notOpen({ code: 'EEXIST', message: "EEXIST: file already exists, mkdir '/f'" }),
    'not-a-folder',
  ],
  [
    'a full disk at open',
    notOpen({ code: 'LEVEL_IO_ERROR', message: 'IO error: /d/000001.dbtmp: No space left on device' }),
    'disk-full',
  ],
  [
    'a full disk on a write',
    Object.assign(new Error('IO error: /d/000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }),
    'disk-full',
  ],
  [
    'a damaged MANIFEST',
    notOpen({ code: 'LEVEL_CORRUPTION', message: 'Corruption: no meta-nextfile entry in descriptor' }),
    'corrupt',
  ],
  [
    'a CURRENT naming a missing MANIFEST',
    notOpen({ code: 'LEVEL_IO_ERROR', message: 'IO error: /d/garbage: No such file or directory' }),
    'corrupt',
  ],
  [
    'an I/O error of the device',
    notOpen({ code: 'LEVEL_IO_ERROR', message: 'IO error: /d/000005.ldb: Input/output error' }),
    'other',
  ],
];

describe('classifyLevelFailure', () => {
  it.each(OBSERVED)('tells %s apart', (_, error, kind) => {
    expect(classifyLevelFailure(error).kind).toBe(kind);
  });

  it('keeps the innermost message as the detail, not the generic "failed to open"', () => {
    const failure = classifyLevelFailure(
      notOpen({ code: 'LEVEL_LOCKED', message: 'IO error: lock /d/LOCK: Resource temporarily unavailable' }),
    );
    expect(failure.detail).toBe('IO error: lock /d/LOCK: Resource temporarily unavailable');
  });

  it('classifies a thrown value that is not an error as other, with its text', () => {
    expect(classifyLevelFailure('boom')).toEqual({ kind: 'other', detail: 'boom' });
    expect(classifyLevelFailure(undefined)).toEqual({ kind: 'other', detail: 'undefined' });
  });

  it('stops walking a cause chain that loops', () => {
    const a: { message: string; cause?: unknown } = { message: 'a' };
    a.cause = a;
    expect(classifyLevelFailure(a).kind).toBe('other');
  });
});
