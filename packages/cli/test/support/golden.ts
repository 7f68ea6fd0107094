import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** GOLDEN_DIR holds the expected outputs, one `<name>.txt` per rendering. */
export const GOLDEN_DIR = join(__dirname, '..', 'golden');

/**
 * expectGolden compares `actual` with test/golden/<name>.txt. With UPDATE_GOLDEN=1 it rewrites
 * the file instead (review the diff before keeping it).
 */
export function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, `${name}.txt`);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) {
    throw new Error(`no golden file ${file}; run the test with UPDATE_GOLDEN=1 and review it`);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}
