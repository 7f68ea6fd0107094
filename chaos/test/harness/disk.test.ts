import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CleanupRegistry } from '../../src/harness/cleanup';
import { isMounted, SmallDisk } from '../../src/harness/disk';
import { describeAsRoot } from '../helpers/root';

function errnoOf(f: () => void): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
}

describeAsRoot('SmallDisk', () => {
  it('fills up (ENOSPC), turns read-only (EROFS), and is unmounted by cleanup', async () => {
    const root = mkdtempSync(join(tmpdir(), 'chaos-disk-'));
    const dir = join(root, 'n1');
    const cleanup = new CleanupRegistry();
    try {
      const disk = new SmallDisk(dir, 1 << 20, cleanup);
      expect(isMounted(dir)).toBe(true);
      writeFileSync(join(dir, 'a'), 'before');
      expect(disk.fill()).toBeGreaterThan(0);
      expect(errnoOf(() => writeFileSync(join(dir, 'b'), Buffer.alloc(8192)))).toBe('ENOSPC');
      disk.free();
      expect(errnoOf(() => writeFileSync(join(dir, 'b'), 'fits again'))).toBeUndefined();
      disk.readOnly(true);
      expect(errnoOf(() => writeFileSync(join(dir, 'c'), 'x'))).toBe('EROFS');
      disk.readOnly(false);
      expect(await cleanup.runAll()).toEqual([]);
      expect(isMounted(dir)).toBe(false);
    } finally {
      await cleanup.runAll();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("is unmounted by cleanup when made on a relative path (the runner's default --out, seed 17 long run)", async () => {
    const root = mkdtempSync(join(tmpdir(), 'chaos-disk-'));
    const dir = relative(process.cwd(), join(root, 'n1'));
    const cleanup = new CleanupRegistry();
    try {
      new SmallDisk(dir, 1 << 20, cleanup);
      expect(isMounted(dir)).toBe(true);
      expect(await cleanup.runAll()).toEqual([]);
      expect(isMounted(join(root, 'n1'))).toBe(false);
    } finally {
      await cleanup.runAll();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a size out of bounds', () => {
    expect(() => new SmallDisk('/nonexistent', 10, new CleanupRegistry())).toThrow(
      'a small disk has 1048576..1073741824 bytes, got 10',
    );
  });
});
