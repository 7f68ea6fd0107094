import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chaosErrorOf } from './helpers/errors';
import { readRunFolder } from '../src/read-run';

describe('readRunFolder', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-run-'));
    for (const name of ['client-b.jsonl', 'client-a.jsonl', 'store-1.jsonl', 'notes.txt', 'client-c.json']) {
      writeFileSync(join(dir, name), '');
    }
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the histories by name and leaves out what is absent or not a history', () => {
    const files = readRunFolder(dir);
    expect(files.clients.map((f) => f.file)).toEqual(['client-a.jsonl', 'client-b.jsonl']);
    expect(files.stores.map((f) => f.file)).toEqual(['store-1.jsonl']);
    expect([files.audit, files.timeline, files.sloExpectations]).toEqual([undefined, undefined, undefined]);
  });

  it('refuses a path that is not a folder', () => {
    expect(chaosErrorOf(() => readRunFolder(join(dir, 'notes.txt')), 'INVALID_ARGUMENT')).toMatch(
      /notes\.txt is not a folder: pass the run folder of history files/,
    );
  });
});
