import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, Membership } from '../../src/core/index';
import type { StorageErrorCode } from '../../src/storage/index';
import { LevelStorage, isStorageError } from '../../src/storage/index';

/**
 * Each case makes LevelDB fail for real on this machine: a second process holding the store, a
 * user without access (as root, chmod does not stop anyone, so a child process runs as `nobody`),
 * a path under a regular file, a damaged store, and a full file system (a small tmpfs this file
 * mounts and always unmounts; skipped, saying so, where mounting is not allowed). A fault injected
 * at the LevelDB boundary covers the full disk on a save everywhere.
 */

jest.setTimeout(60_000);

const CHILD = join(__dirname, 'open-child.ts');
const REPO = join(__dirname, '../../../..');
const membership: Membership = { voters: ['n1'], learners: [] };
/** NOBODY is the unprivileged user a root test runs the other-user child as. */
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

const dirs: string[] = [];
const mounts: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-faults-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  // Unmount first: a mount left behind outlives the test run.
  for (const dir of mounts) execFileSync('umount', [dir]);
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** openError opens `dir` and returns what it threw (closing the store if it opened). */
async function openError(dir: string): Promise<unknown> {
  return LevelStorage.open(dir, { bootstrap: membership }).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

/** expectStorageError checks the code, that the message names the folder, and whether it says to move it aside. */
function expectStorageError(error: unknown, code: StorageErrorCode, dir: string, moveAside: boolean): string {
  expect(isStorageError(error) ? error.code : error).toBe(code);
  const message = (error as Error).message;
  expect(message).toContain(dir);
  if (moveAside) expect(message).toMatch(/move \S+ aside \(keep it for diagnosis\)/);
  else expect(message).toMatch(/do not move it aside|Nothing was changed/);
  return message;
}

/** startChild runs open-child.ts on `dir` (as `uid` when given) and resolves with its first line. */
function startChild(
  dir: string,
  mode: 'once' | 'hold',
  uid?: number,
): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string; firstLine: string }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', CHILD, dir, mode], {
    cwd: REPO,
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`open-child said nothing in 30 s: ${stderr}`)), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(guard);
        resolve({ child, output: () => stdout, firstLine: stdout.slice(0, nl) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(guard);
      if (stdout.indexOf('\n') < 0) reject(new Error(`open-child exited with ${String(code)}: ${stderr}`));
    });
  });
}

/** exited resolves once `child` has exited (with all its output read). */
function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}

/** tryMountTmpfs mounts a tmpfs of `bytes` on `dir`; false (with the reason logged) where that is not allowed. */
function tryMountTmpfs(dir: string, bytes: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    process.stderr.write(
      `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}): the real full-disk cases are skipped\n`,
    );
    return false;
  }
  mounts.push(dir);
  return true;
}

/** fill writes a file in `dir` until its file system is full, and returns the file's path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const chunk = Buffer.alloc(4096, 1);
  // A tmpfs of a few hundred KiB is full after at most a few hundred chunks.
  for (let i = 0; i < 100_000; i++) {
    try {
      writeFileSync(path, chunk, { flag: 'a' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return path;
      throw e;
    }
  }
  throw new Error(`${dir} did not fill up`);
}

function entries(from: number, count: number, bytes: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'command' as const,
    index: from + i,
    term: 1,
    data: Buffer.alloc(bytes, (from + i) % 256),
  }));
}

describe('LevelStorage.open tells its failures apart (issue 15 item 9)', () => {
  it('reports a store another process holds open as locked, not corrupt, and leaves it usable', async () => {
    const dir = freshDir();
    const holder = await startChild(dir, 'hold');
    expect(holder.firstLine).toBe('opened');
    const message = expectStorageError(await openError(dir), 'STORAGE_LOCKED', dir, false);
    expect(message).toMatch(/in use by another process.*Resource temporarily unavailable/);
    process.kill(holder.child.pid!, 'SIGTERM');
    await exited(holder.child);
    expect(await openError(dir)).toBeUndefined();
  });

  it('reports a folder this user may not create a store in as access denied', async () => {
    const parent = freshDir();
    const dir = join(parent, 'store');
    let error: { code: string; message: string };
    if (isRoot) {
      // mkdtemp makes the folder 0700 and root's: nobody may not create anything in it.
      const child = await startChild(dir, 'once', NOBODY);
      await exited(child.child);
      const [first, ...rest] = child.output().trimEnd().split('\n');
      error = { code: first!.replace('failed ', ''), message: rest.join('\n') };
    } else {
      chmodSync(parent, 0o500);
      const e = await openError(dir);
      chmodSync(parent, 0o700);
      error = { code: isStorageError(e) ? e.code : String(e), message: (e as Error).message };
    }
    expect(error.code).toBe('STORAGE_ACCESS_DENIED');
    expect(error.message).toContain(dir);
    expect(error.message).toMatch(/may not read or write.*permission denied.*do not move it aside/is);
  });

  it('reports a store whose files this user may not write as access denied, and leaves it untouched', async () => {
    const dir = freshDir();
    expect(await openError(dir)).toBeUndefined();
    const before = readdirSync(dir).sort();
    let code: string;
    if (isRoot) {
      chmodSync(dir, 0o755); // nobody may enter and read it, not write its LOCK file
      const child = await startChild(dir, 'once', NOBODY);
      await exited(child.child);
      code = child.firstLine.replace('failed ', '');
      expect(child.output()).toMatch(/LOCK: Permission denied/);
    } else {
      chmodSync(dir, 0o500);
      const e = await openError(dir);
      chmodSync(dir, 0o700);
      code = isStorageError(e) ? e.code : String(e);
    }
    expect(code).toBe('STORAGE_ACCESS_DENIED');
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(await openError(dir)).toBeUndefined();
  });

  it('reports a data folder under a regular file, or that is one, as not a folder', async () => {
    const parent = freshDir();
    const file = join(parent, 'file');
    writeFileSync(file, 'not a folder');
    expectStorageError(
      await openError(join(file, 'store')),
      'STORAGE_NOT_A_FOLDER',
      join(file, 'store'),
      false,
    );
    const message = expectStorageError(await openError(file), 'STORAGE_NOT_A_FOLDER', file, false);
    expect(message).toMatch(/regular file.*Point --data-dir at a folder/);
  });

  it('reports a store LevelDB finds damaged as corrupt, with the advice to move it aside', async () => {
    const dir = freshDir();
    expect(await openError(dir)).toBeUndefined();
    const manifest = readdirSync(dir).find((f) => f.startsWith('MANIFEST-'))!;
    writeFileSync(join(dir, manifest), Buffer.alloc(200, 0xab));
    expectStorageError(await openError(dir), 'STORAGE_CORRUPT', dir, true);

    const other = freshDir();
    expect(await openError(other)).toBeUndefined();
    writeFileSync(join(other, 'CURRENT'), 'MANIFEST-999999\n');
    expectStorageError(await openError(other), 'STORAGE_CORRUPT', other, true);
  });
});

describe('LevelStorage on a full file system (issue 15 item 9)', () => {
  it('refuses to save on a full disk with STORAGE_DISK_FULL (a fault injected at the LevelDB boundary) and changes nothing', async () => {
    const dir = freshDir();
    const store = await LevelStorage.open(dir, { bootstrap: membership });
    try {
      await store.save({ hardState: undefined, entries: entries(1, 2, 10), snapshot: undefined });
      // What classic-level rejects a batch's write with when the log file cannot grow.
      const db = (store as unknown as { db: { batch: (...args: unknown[]) => unknown } }).db;
      db.batch = () => ({
        put: () => undefined,
        del: () => undefined,
        close: () => Promise.resolve(),
        write: () =>
          Promise.reject(
            Object.assign(new Error(`IO error: ${dir}/000003.log: No space left on device`), {
              code: 'LEVEL_IO_ERROR',
            }),
          ),
      });
      const error: unknown = await store
        .save({
          hardState: { term: 1, vote: 'n1', commit: 0 },
          entries: entries(3, 1, 10),
          snapshot: undefined,
        })
        .catch((e: unknown) => e);
      expectStorageError(error, 'STORAGE_DISK_FULL', dir, false);
      expect(store.mirror.lastIndex()).toBe(2);
      expect(store.mirror.initialHardState().term).toBe(0);
      const compactError: unknown = await store
        .compact({ index: 2, term: 1, membership }, new Uint8Array(4))
        .catch((e: unknown) => e);
      expect(isStorageError(compactError, 'STORAGE_DISK_FULL')).toBe(true);
      expect(store.mirror.snapshot().meta.index).toBe(0);
    } finally {
      await store.close();
    }
  });

  const mountable = (() => {
    if (!isRoot) return false;
    return tryMountTmpfs(freshDir(), 64 * 1024);
  })();
  const onTmpfs = mountable ? it : it.skip;

  onTmpfs('refuses to create a store on a full tmpfs with STORAGE_DISK_FULL, not corrupt', async () => {
    const dir = freshDir();
    expect(tryMountTmpfs(dir, 256 * 1024)).toBe(true);
    fill(dir);
    const store = join(dir, 'store');
    const message = expectStorageError(await openError(store), 'STORAGE_DISK_FULL', store, false);
    expect(message).toMatch(/No space left on device.*Free space on that file system/s);
  });

  onTmpfs(
    'fails the save that fills a real tmpfs with STORAGE_DISK_FULL, and every save that resolved is there after a reopen',
    async () => {
      const dir = freshDir();
      expect(tryMountTmpfs(dir, 1024 * 1024)).toBe(true);
      const store = await LevelStorage.open(dir, { bootstrap: membership });
      let acked = 0;
      let error: unknown;
      // 16 KiB entries: a 1 MiB tmpfs is full after at most 64 of them.
      for (let i = 1; i <= 200 && error === undefined; i++) {
        await store
          .save({ hardState: undefined, entries: entries(i, 1, 16 * 1024), snapshot: undefined })
          .then(
            () => (acked = i),
            (e: unknown) => (error = e),
          );
      }
      await store.close().catch(() => undefined);
      expectStorageError(error, 'STORAGE_DISK_FULL', dir, false);
      expect(acked).toBeGreaterThan(0);
      expect(store.mirror.lastIndex()).toBe(acked);

      // More room, then reopen: every save that resolved was durable.
      execFileSync('mount', ['-o', 'remount,size=4m', dir]);
      const reopened = await LevelStorage.open(dir, { bootstrap: membership });
      try {
        expect(reopened.mirror.lastIndex()).toBeGreaterThanOrEqual(acked);
        const stored = reopened.mirror.allEntries();
        for (let i = 1; i <= acked; i++) {
          const entry = stored[i - 1];
          expect(entry?.index).toBe(i);
          expect(
            entry?.kind === 'command' && Buffer.from(entry.data).equals(Buffer.alloc(16 * 1024, i % 256)),
          ).toBe(true);
        }
      } finally {
        await reopened.close();
      }
    },
  );
});
