import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mulberry32 } from '../../src/core/index';
import { LevelStorage } from '../../src/storage/index';
import { entryBytes, snapshotBytes } from './crash-entry';

const CRASHES = 12;
const CHILD = join(__dirname, 'crash-child.ts');

interface ChildRun {
  /** acked is every (lastIndex, term) the child reported durable before it died. */
  readonly acked: Array<{ index: number; term: number }>;
  readonly stderr: string;
}

/** runAndKill starts the child, lets it write for a while after it opened, and SIGKILLs it by PID. */
function runAndKill(dataDir: string, seed: number, killAfterMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', CHILD, dataDir, String(seed)], {
      cwd: join(__dirname, '../../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: Array<{ index: number; term: number }> = [];
    let stdout = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      let nl: number;
      while ((nl = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        const parts = line.split(' ');
        if (parts[0] === 'opened' && killTimer === undefined) {
          killTimer = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), killAfterMs);
        } else if (parts[0] === 'acked') {
          acked.push({ index: Number(parts[1]), term: Number(parts[2]) });
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (killTimer !== undefined) clearTimeout(killTimer);
      if (signal !== 'SIGKILL')
        reject(new Error(`child exited with ${String(code)} instead of being killed: ${stderr}`));
      else resolve({ acked, stderr });
    });
  });
}

describe('LevelStorage under kill -9', () => {
  jest.setTimeout(180_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'omnirelay-crash-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every acknowledged entry and reopens consistently after each of many crashes', async () => {
    const rng = new Mulberry32(20261123);
    let ackedTotal = 0;
    let reopensWithSnapshot = 0;
    for (let crash = 0; crash < CRASHES; crash++) {
      const run = await runAndKill(dataDir, crash + 1, 20 + rng.intBelow(250));
      ackedTotal += run.acked.length;
      // Reopening validates the whole store (contiguous, terms non-decreasing, commit in range)
      // and throws STORAGE_CORRUPT otherwise.
      const store = await LevelStorage.open(dataDir, { bootstrap: { voters: ['n1'], learners: [] } });
      try {
        const mirror = store.mirror;
        const last = run.acked[run.acked.length - 1];
        if (last !== undefined) {
          // Entries are only ever replaced by newer terms; an acknowledged one may be overwritten
          // by a later acknowledged save, never lost.
          expect(mirror.lastIndex()).toBeGreaterThanOrEqual(last.index);
          expect(mirror.term(last.index)).toBeGreaterThanOrEqual(last.term);
        }
        // A snapshot is whole or was never stored: its chunks all there, or the previous one kept.
        const snapshot = mirror.snapshot();
        if (snapshot.meta.index > 0) {
          reopensWithSnapshot++;
          expect(Buffer.from(snapshot.data).equals(snapshotBytes(snapshot.meta.index))).toBe(true);
        }
        for (const e of mirror.allEntries()) {
          expect(e.kind).toBe('command');
          if (e.kind === 'command')
            expect(Buffer.from(e.data).equals(entryBytes(e.index, e.term))).toBe(true);
        }
      } finally {
        await store.close();
      }
    }
    // The test means nothing if the children never got to write.
    expect(ackedTotal).toBeGreaterThan(CRASHES);
    expect(reopensWithSnapshot).toBeGreaterThan(0);
  });
});
