import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CertError } from './cert-error';

/** KEY_FILE_MODE is a private key file's mode: the owner alone reads it. */
export const KEY_FILE_MODE = 0o600;

/** CERT_FILE_MODE is a certificate file's mode: anyone may read it. */
export const CERT_FILE_MODE = 0o644;

/** OUT_DIR_MODE is the mode of an output folder the issuer creates (it will hold keys). */
export const OUT_DIR_MODE = 0o700;

/** ensureOutDir creates `dir` (and its parents) with OUT_DIR_MODE unless it exists. */
export async function ensureOutDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: OUT_DIR_MODE });
  } catch (e) {
    throw ioFailed(`cannot create the folder ${dir}`, e);
  }
}

/**
 * refuseExisting throws ALREADY_EXISTS naming the first of `paths` that exists (a symlink counts),
 * unless `overwrite`. Checking every file first means a refusal writes nothing.
 */
export async function refuseExisting(paths: readonly string[], overwrite: boolean): Promise<void> {
  if (overwrite) return;
  for (const path of paths) {
    if (await exists(path)) {
      throw new CertError(
        'ALREADY_EXISTS',
        `${path} exists`,
        'remove it, choose another --out, or give --force to overwrite it',
      );
    }
  }
}

/**
 * writeFileAtomic writes `data` to `path` with exactly `mode` (whatever the umask, and also when
 * `path` already exists). The data goes to a new temporary file beside `path`, created with
 * `mode`, synced, and then renamed over `path` (`overwrite`) or hard-linked to it, which fails
 * if `path` appeared meanwhile. So a reader never sees a partial file, and a key is never, even
 * briefly, in a file with a looser mode.
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  mode: number,
  overwrite: boolean,
): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const file = await open(temporary, 'wx', mode);
    created = true;
    try {
      await file.writeFile(data, 'utf8');
      await file.chmod(mode);
      await file.sync();
    } finally {
      await file.close();
    }
    if (overwrite) {
      await rename(temporary, path);
      created = false;
    } else {
      await link(temporary, path);
    }
  } catch (e) {
    if (isErrno(e, 'EEXIST') && created) {
      throw new CertError('ALREADY_EXISTS', `${path} exists`, 'remove it, or give --force to overwrite it');
    }
    throw ioFailed(`cannot write ${path}`, e);
  } finally {
    if (created) await unlink(temporary).catch(() => undefined);
  }
}

/** readText reads a UTF-8 file; a missing file is NOT_FOUND with `missingNext` as the next step. */
export async function readText(path: string, missingNext: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new CertError('NOT_FOUND', `${path} does not exist`, missingNext);
    throw ioFailed(`cannot read ${path}`, e);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw ioFailed(`cannot check ${path}`, e);
  }
}

function ioFailed(what: string, e: unknown): CertError {
  const code = typeof e === 'object' && e !== null ? (e as NodeJS.ErrnoException).code : undefined;
  return new CertError(
    'IO_FAILED',
    `${what} (${code ?? (e instanceof Error ? e.message : String(e))})`,
    'check the path and its permissions',
    { cause: e },
  );
}

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code === code;
}
