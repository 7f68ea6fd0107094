import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CleanupRegistry } from './cleanup';
import { run, tryRun } from './shell';

/** TMPFS_BYTES_MIN and TMPFS_BYTES_MAX bound the size of a node's small data disk. */
export const TMPFS_BYTES_MIN = 1 << 20;
export const TMPFS_BYTES_MAX = 1 << 30;
/** FILL_CHUNK_BYTES is how much `fill` writes per call. */
export const FILL_CHUNK_BYTES = 1 << 16;

/** isMounted says whether `dir` (relative to the working folder, or absolute) is a mount point (/proc/mounts, absolute). */
export function isMounted(dir: string): boolean {
  const absolute = resolve(dir);
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === absolute);
}

/**
 * SmallDisk is a node's data folder on a tmpfs of `bytes`: `fill` takes the free space (the next
 * write fails with ENOSPC), `free` gives it back, `readOnly` remounts it read-only (EROFS) or back.
 * The unmount is registered in `cleanup`; a still-running process keeping it busy gets a lazy
 * unmount.
 */
export class SmallDisk {
  private readonly filler: string;

  constructor(
    readonly dir: string,
    readonly bytes: number,
    cleanup: CleanupRegistry,
  ) {
    if (!Number.isInteger(bytes) || bytes < TMPFS_BYTES_MIN || bytes > TMPFS_BYTES_MAX) {
      throw new RangeError(`a small disk has ${TMPFS_BYTES_MIN}..${TMPFS_BYTES_MAX} bytes, got ${bytes}`);
    }
    mkdirSync(dir, { recursive: true });
    cleanup.add(`unmount ${dir}`, () => this.unmount());
    run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir]);
    this.filler = join(dir, '.chaos-fill');
  }

  /** fill writes a file until the disk is full; it returns the bytes written. */
  fill(): number {
    const fd = openSync(this.filler, 'a');
    const chunk = Buffer.alloc(FILL_CHUNK_BYTES, 0x5a);
    let written = 0;
    try {
      for (let i = 0; i < Math.ceil(TMPFS_BYTES_MAX / FILL_CHUNK_BYTES) + 1; i++) {
        written += writeSync(fd, chunk);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    } finally {
      closeSync(fd);
    }
    return written;
  }

  /** free removes the filler file. */
  free(): void {
    tryRun('rm', ['-f', this.filler]);
  }

  /** readOnly remounts the disk read-only (true) or read-write (false). */
  readOnly(on: boolean): void {
    run('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, this.dir]);
  }

  /** unmount unmounts the disk (lazily if busy); idempotent. */
  unmount(): void {
    if (!isMounted(this.dir)) return;
    if (tryRun('umount', [this.dir]) === undefined) tryRun('umount', ['-l', this.dir]);
  }
}
