import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure } from '../bench/hops/floors';
import { measureFloors, measureKillFloor } from '../bench/hops/floors';

/** childPids lists this process's live children (pgrep -P), to check that the floors leave none. */
function childPids(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
}

function expectFigure(f: Figure, count: number): void {
  expect(f.count).toBe(count);
  expect(f.median).toBeGreaterThan(0);
  expect(f.p99).toBeGreaterThanOrEqual(f.median);
}

describe('the hop ledger floors (bench/hops/floors.ts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'floors-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every round trip against a floor peer of its own, and stops it', async () => {
    const before = childPids();
    const floors = await measureFloors(dir);
    expectFigure(floors.rttMs, 2000);
    expectFigure(floors.processRttMs, 500);
    expectFigure(floors.grpcUnaryRttMs, 500);
    expectFigure(floors.grpcStreamRttMs, 500);
    expectFigure(floors.fsync4KiBMs, 300);
    expect(childPids()).toEqual(before);
    expect(readdirSync(dir)).toEqual([]); // the fsync floor's file is gone
  }, 60_000);

  it('kills a victim of the given size per round and sees each reset', async () => {
    const before = childPids();
    const floor = await measureKillFloor(16);
    expectFigure(floor, 5);
    expect(floor.rssMiB).toBe(16);
    expect(childPids()).toEqual(before);
  }, 60_000);
});
