import { accessSync, constants } from 'node:fs';

/** givenFile is the merged configuration's non-empty string setting `key`, or undefined. */
export function givenFile(merged: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = merged[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * unreadableFile names the first of `files` (flag, path; undefined: not given) that cannot be
 * read, as `<flag> <path>: no such file` or `... cannot be read`; undefined when all can be.
 */
export function unreadableFile(
  files: ReadonlyArray<readonly [string, string | undefined]>,
): string | undefined {
  for (const [flag, file] of files) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read';
      return `${flag} ${file}: ${reason}`;
    }
  }
  return undefined;
}
