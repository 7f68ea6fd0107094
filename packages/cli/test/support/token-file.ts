import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDir } from '../../../certs/test/support/temp-dir';

/** TEST_TOKEN is a well-formed bearer token for tests. */
export const TEST_TOKEN = 'omr_cli-flag-token-0123456789abcdef';

/**
 * useTokenFile gives a describe block (or a file) a writer of token files: each call writes
 * `text` to `token` (mode 0600) in a fresh temporary folder per test and returns its path.
 */
export function useTokenFile(prefix: string): (text: string) => string {
  const tempDir = useTempDir(prefix);
  return (text) => {
    const path = join(tempDir(), 'token');
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
}
