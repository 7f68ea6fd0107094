import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * cliVersion is the version in packages/cli/package.json. This file sits one level below the
 * package in both src/ and dist/, so the same relative path works built and from source.
 */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}
