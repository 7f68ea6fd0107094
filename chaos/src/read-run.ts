import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChaosError } from './errors';
import type { RunFile, RunFiles } from './run-checks';

/** RUN_FILES_MAX bounds how many history files one run folder may hold. */
export const RUN_FILES_MAX = 10_000;

function read(dir: string, file: string): RunFile {
  return { file, text: readFileSync(join(dir, file), 'utf8') };
}

function optional(dir: string, file: string): RunFile | undefined {
  return existsSync(join(dir, file)) ? read(dir, file) : undefined;
}

/**
 * readRunFolder reads a run folder: `client-*.jsonl`, `store-*.jsonl` (sorted by name),
 * `audit.jsonl`, `timeline.jsonl` and `slo.json` when present. Other files are ignored. A path
 * that is not a folder, or one with more than RUN_FILES_MAX histories, is INVALID_ARGUMENT.
 */
export function readRunFolder(dir: string): RunFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ChaosError('INVALID_ARGUMENT', `${dir} is not a folder: pass the run folder of history files`);
  }
  const names = readdirSync(dir).sort();
  const clients = names.filter((n) => n.startsWith('client-') && n.endsWith('.jsonl'));
  const stores = names.filter((n) => n.startsWith('store-') && n.endsWith('.jsonl'));
  if (clients.length + stores.length > RUN_FILES_MAX) {
    throw new ChaosError(
      'INVALID_ARGUMENT',
      `${dir} holds ${clients.length + stores.length} history files, more than ${RUN_FILES_MAX}`,
    );
  }
  return {
    clients: clients.map((file) => read(dir, file)),
    stores: stores.map((file) => read(dir, file)),
    audit: optional(dir, 'audit.jsonl'),
    timeline: optional(dir, 'timeline.jsonl'),
    sloExpectations: optional(dir, 'slo.json'),
  };
}
