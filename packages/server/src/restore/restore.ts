import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { LeadershipFsm } from '@omnirelay/leadership-fsm';
import { INDEX_MAX, LevelStorage } from '@omnirelay/raft';
import { decodeSnapshotFile, isSnapshotFileError } from '@omnirelay/snapshot-file';

/** RESTORE_VOTERS_MAX is the most members a restored cluster may start with (the Raft voter bound). */
export const RESTORE_VOTERS_MAX = 7;

/** RestoreOptions is what `omnirelay-server restore` was given. */
export interface RestoreOptions {
  /** file is the backup (`omnirelay snapshot save`). */
  readonly file: string;
  /** dataDir is the data folder to create for member `id`; it must not exist or be empty. */
  readonly dataDir: string;
  readonly id: string;
  /** members is `id=peerAddress,...`: the voters of the new cluster, `id` among them. */
  readonly members: string;
  /** clusterId is the new cluster's id; it must differ from the backup's. */
  readonly clusterId: string;
  /**
   * bumpIndex raises the restored store's index (and so every fence the new cluster grants) this
   * far above the backup's, to stay above fences the old cluster granted after the backup.
   */
  readonly bumpIndex: number;
}

/** RestoreResult describes the store a restore created. */
export interface RestoreResult {
  /** index is where the restored store stands; the new cluster's first entry is index + 1. */
  readonly index: number;
  readonly term: number;
  readonly backupIndex: number;
  readonly voters: readonly string[];
  readonly incarnation: string;
}

/** RestoreError is a restore refused before anything was written; its message is the one line to print. */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

/**
 * restoreBackup creates the data folder of one member of a NEW cluster from a backup: run it once
 * per member, with the same file, members and cluster id, then start each member with
 * `--cluster-id <clusterId>` and its usual flags. Every input is checked before anything is
 * written (a bad file, a non-empty folder, a member list without `id`, the old cluster id), and a
 * failure while writing removes what it created.
 *
 * The store holds the backup's state as a snapshot at index `backup index + bumpIndex` with an
 * empty log (LevelStorage.createRestored), so the new cluster's entries, and the fences it grants
 * (a fence is the index of its grant), continue above every fence in the backup; members are
 * bound afresh by the first leader, and the old cluster's members cannot talk to the new one (the
 * cluster id differs) or open its stores.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const voters = parseMembers(options.members);
  if (!voters.includes(options.id)) {
    throw new RestoreError(`--id ${options.id} is not in --members (${voters.join(', ')})`);
  }
  if (!Number.isSafeInteger(options.bumpIndex) || options.bumpIndex < 0) {
    throw new RestoreError(`--bump-index must be a whole number ≥ 0, got ${options.bumpIndex}`);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(options.file);
  } catch (e) {
    throw new RestoreError(`cannot read ${options.file}: ${errorText(e)}`);
  }
  let backup;
  try {
    backup = decodeSnapshotFile(bytes);
  } catch (e) {
    if (!isSnapshotFileError(e)) throw e;
    throw new RestoreError(`${options.file}: ${e.message} (${e.code}); nothing was written`);
  }
  const { header } = backup;
  if (options.clusterId === '' || options.clusterId === header.clusterId) {
    throw new RestoreError(
      `--cluster-id must name the NEW cluster, not ${JSON.stringify(header.clusterId)} (the backup's), so old members cannot join it`,
    );
  }
  try {
    LeadershipFsm.restore(backup.data);
  } catch (e) {
    throw new RestoreError(
      `${options.file}: the state in it does not load (${errorText(e)}); nothing was written`,
    );
  }
  const index = header.index + options.bumpIndex;
  if (index > INDEX_MAX) {
    throw new RestoreError(`--bump-index ${options.bumpIndex} puts the index ${index} above ${INDEX_MAX}`);
  }
  const created = await prepareEmptyFolder(options.dataDir);
  try {
    const identity = await LevelStorage.createRestored(
      options.dataDir,
      { meta: { index, term: header.term, membership: { voters, learners: [] } }, data: backup.data },
      options.clusterId,
    );
    return { index, term: header.term, backupIndex: header.index, voters, incarnation: identity.incarnation };
  } catch (e) {
    // Leave the folder as it was: gone if this created it, empty otherwise.
    if (created) await rm(options.dataDir, { recursive: true, force: true });
    else await emptyFolder(options.dataDir);
    throw new RestoreError(`cannot write the store in ${options.dataDir}: ${errorText(e)}`);
  }
}

/** parseMembers reads `id=peerAddress,...` into the sorted voter ids, refusing malformed or duplicate ones. */
function parseMembers(text: string): string[] {
  const ids = new Set<string>();
  for (const item of text.split(',').map((s) => s.trim())) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)=(\S+):(\d+)$/.exec(item);
    if (m === null) throw new RestoreError(`--members item ${JSON.stringify(item)} is not id=host:port`);
    if (ids.has(m[1]!)) throw new RestoreError(`--members names ${m[1]!} twice`);
    ids.add(m[1]!);
  }
  if (ids.size > RESTORE_VOTERS_MAX) {
    throw new RestoreError(
      `--members names ${ids.size} members; a cluster has at most ${RESTORE_VOTERS_MAX} voters`,
    );
  }
  return [...ids].sort();
}

/** prepareEmptyFolder refuses a folder that holds anything; it creates a missing one and says so. */
async function prepareEmptyFolder(dir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') {
      throw new RestoreError(`cannot use --data-dir ${dir}: ${errorText(e)}`);
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return true;
  }
  if (entries.length > 0) {
    throw new RestoreError(
      `--data-dir ${dir} is not empty (${entries.length} entries); restore only into a new or empty folder, nothing was written`,
    );
  }
  return false;
}

async function emptyFolder(dir: string): Promise<void> {
  for (const entry of await readdir(dir).catch(() => [])) {
    await rm(`${dir}/${entry}`, { recursive: true, force: true });
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
