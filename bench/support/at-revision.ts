import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * requireAtRevision loads the module at `path` (relative to the repository root) as it was at
 * commit `rev`, beside this tree's (its relative imports resolve to this tree's files), so an A/B
 * bench can run both versions in one process. The copy is written as `<name>-ab-old.ts` next to
 * the current file and removed as soon as it is loaded (or failed to load).
 */
export function requireAtRevision<T>(rev: string, path: string): T {
  const root = join(__dirname, '..', '..');
  const copy = join(root, dirname(path), `${basename(path, '.ts')}-ab-old.ts`);
  writeFileSync(copy, execFileSync('git', ['show', `${rev}:${path}`], { cwd: root, encoding: 'utf8' }));
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(copy) as T;
  } finally {
    rmSync(copy, { force: true });
  }
}
