import { mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Entry, Membership } from '@omnirelay/raft';
import { INDEX_MAX, LevelStorage, isStorageError } from '@omnirelay/raft';
import { LeadershipStateMachine } from '../leadership/leadership-state-machine';
import { RestoreError } from './restore';

/**
 * FORCE_NEW_CLUSTER_ENTRIES_PER_READ bounds how many log entries one read of the survivor's log
 * returns while its state is rebuilt (the log itself is bounded by compaction).
 */
export const FORCE_NEW_CLUSTER_ENTRIES_PER_READ = 10_000;

/** ForceNewClusterOptions is what `omnirelay-server force-new-cluster` was given. */
export interface ForceNewClusterOptions {
  /** dataDir is the surviving member's data folder; the node must be stopped. */
  readonly dataDir: string;
  /** id is the surviving member's id: a voter of the configuration its store holds. */
  readonly id: string;
  /** clusterId is the new cluster's id; it must differ from the one the store belongs to. */
  readonly clusterId: string;
  /**
   * bumpIndex raises the new cluster's index (and so every fence it grants) this far above the
   * survivor's last entry, to stay above entries the lost majority committed that the survivor
   * never received. Required: there is no safe default.
   */
  readonly bumpIndex: number;
  /** progress hears one line per step (without a newline). */
  readonly progress?: (line: string) => void;
}

/** ForceNewClusterResult describes the single-member store that replaced the survivor's. */
export interface ForceNewClusterResult {
  /** index is where the new store stands: the survivor's last index + bumpIndex. */
  readonly index: number;
  readonly term: number;
  /** oldClusterId is the cluster the store belonged to. */
  readonly oldClusterId: string;
  /** commitIndex and lastIndex are what the survivor had committed and held. */
  readonly commitIndex: number;
  readonly lastIndex: number;
  /** keptUncommitted counts the entries above the survivor's commit index that were kept. */
  readonly keptUncommitted: number;
  /** asideDir is where the survivor's original folder was moved (keep it until the new cluster is healthy). */
  readonly asideDir: string;
  readonly incarnation: string;
}

/**
 * forceNewCluster turns the data folder of ONE surviving voter into the store of a single-member
 * cluster with a NEW cluster id, for when the majority is gone for good (etcd's
 * `--force-new-cluster`). It runs offline, on a stopped node, in three steps:
 *
 * 1. It opens the survivor's store (refused while a node holds its lock, or when the folder holds
 *    no store or `id` is not a voter of it) and rebuilds its state machine from the snapshot and
 *    EVERY entry of its log, committed or not, as etcd does: an entry above the survivor's commit
 *    index may have been committed (and acknowledged) by the lost majority, so dropping it could
 *    lose an acknowledged grant; keeping one that never committed only makes a write whose client
 *    was told "outcome unknown" take effect.
 * 2. It writes, in a new folder beside `dataDir`, a store whose snapshot is that state at index
 *    `last index + bumpIndex` with an empty log and the survivor as the only voter
 *    (LevelStorage.createRestored: fresh incarnation, new cluster id).
 * 3. It moves the original folder aside (`<dataDir>.before-force-new-cluster-<time>`, the way
 *    back) and the new store into `dataDir`.
 *
 * Every failure before step 3 leaves `dataDir` untouched and removes what it wrote.
 */
export async function forceNewCluster(options: ForceNewClusterOptions): Promise<ForceNewClusterResult> {
  const say = options.progress ?? (() => undefined);
  if (!Number.isSafeInteger(options.bumpIndex) || options.bumpIndex < 0) {
    throw new RestoreError(`--bump-index must be a whole number ≥ 0, got ${options.bumpIndex}`);
  }
  if (!LevelStorage.holdsStore(options.dataDir)) {
    throw new RestoreError(
      `${options.dataDir} holds no Raft store: give the data folder of a surviving member (its --data-dir); nothing was changed`,
    );
  }
  const survivor = await readSurvivor(options.dataDir);
  const { membership, lastIndex, lastTerm, commitIndex, clusterId: oldClusterId } = survivor;
  if (lastIndex === 0) {
    throw new RestoreError(
      `${options.dataDir} holds an empty store (no entry yet): there is nothing to recover; nothing was changed`,
    );
  }
  if (!membership.voters.includes(options.id)) {
    throw new RestoreError(
      `--id ${options.id} is not a voter of the configuration in ${options.dataDir} (voters ${membership.voters.join(', ') || 'none'}); nothing was changed`,
    );
  }
  if (options.clusterId === '' || options.clusterId === oldClusterId) {
    throw new RestoreError(
      `--cluster-id must name the NEW cluster, not ${JSON.stringify(oldClusterId)} (the store's), so old members cannot rejoin it; nothing was changed`,
    );
  }
  const index = lastIndex + options.bumpIndex;
  if (index > INDEX_MAX) {
    throw new RestoreError(`--bump-index ${options.bumpIndex} puts the index ${index} above ${INDEX_MAX}`);
  }
  say(
    `rebuilt the state of ${options.id} from its snapshot at ${survivor.snapshotIndex} and ${lastIndex - survivor.snapshotIndex} log entries (committed to ${commitIndex}, last ${lastIndex})`,
  );

  const parent = dirname(options.dataDir);
  const fresh = await mkdtemp(join(parent, `.${basename(options.dataDir)}.force-new-cluster-`)).catch(
    (e: unknown) => {
      throw new RestoreError(
        `cannot create a folder beside ${options.dataDir}: ${errorText(e)}; nothing was changed`,
      );
    },
  );
  let identity;
  try {
    identity = await LevelStorage.createRestored(
      fresh,
      {
        meta: { index, term: lastTerm, membership: { voters: [options.id], learners: [] } },
        data: survivor.data,
      },
      options.clusterId,
    );
  } catch (e) {
    await rm(fresh, { recursive: true, force: true });
    throw new RestoreError(`cannot write the new store: ${errorText(e)}; nothing was changed`);
  }
  say(`wrote the single-member store of cluster ${options.clusterId} at index ${index}`);
  const asideDir = `${options.dataDir}.before-force-new-cluster-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    await rename(options.dataDir, asideDir);
  } catch (e) {
    await rm(fresh, { recursive: true, force: true });
    throw new RestoreError(`cannot move ${options.dataDir} aside: ${errorText(e)}; nothing was changed`);
  }
  try {
    await rename(fresh, options.dataDir);
  } catch (e) {
    // Put the original back: the operator is where they started.
    await rename(asideDir, options.dataDir).catch(() => undefined);
    await rm(fresh, { recursive: true, force: true });
    throw new RestoreError(
      `cannot move the new store into ${options.dataDir}: ${errorText(e)}; nothing was changed`,
    );
  }
  say(`moved the original folder to ${asideDir}`);
  return {
    index,
    term: lastTerm,
    oldClusterId,
    commitIndex,
    lastIndex,
    keptUncommitted: lastIndex - commitIndex,
    asideDir,
    incarnation: identity.incarnation,
  };
}

/** Survivor is what forceNewCluster reads from the surviving member's store. */
interface Survivor {
  readonly clusterId: string;
  readonly snapshotIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly commitIndex: number;
  /** membership is the latest configuration: of the last config entry, else of the snapshot. */
  readonly membership: Membership;
  /** data is the state machine after every entry of the log, as snapshot bytes. */
  readonly data: Uint8Array;
}

/**
 * readSurvivor opens the store read-only in effect (it writes nothing to an existing store),
 * rebuilds the state machine from its snapshot and every log entry, and closes it. A store held
 * by a running node is refused (its LevelDB lock).
 */
async function readSurvivor(dataDir: string): Promise<Survivor> {
  let storage: LevelStorage;
  try {
    storage = await LevelStorage.open(dataDir, { bootstrap: { voters: [], learners: [] } });
  } catch (e) {
    if (isStorageError(e, 'STORAGE_LOCKED')) {
      throw new RestoreError(
        `${dataDir} is in use by a running process (its LevelDB lock is held): stop the node first; nothing was changed`,
      );
    }
    throw new RestoreError(`cannot open the store in ${dataDir}: ${errorText(e)}; nothing was changed`);
  }
  try {
    const store = storage.mirror;
    const snapshot = store.snapshot();
    let membership = snapshot.meta.membership;
    const machine = new LeadershipStateMachine();
    if (snapshot.meta.index > 0) machine.restore(snapshot.data);
    const lastIndex = store.lastIndex();
    for (let lo = snapshot.meta.index + 1; lo <= lastIndex;) {
      const hi = Math.min(lastIndex + 1, lo + FORCE_NEW_CLUSTER_ENTRIES_PER_READ);
      const entries: Entry[] = store.entries(lo, hi, Number.MAX_SAFE_INTEGER);
      if (entries.length === 0)
        throw new RestoreError(`${dataDir}: entry ${lo} cannot be read; nothing was changed`);
      for (const entry of entries) {
        if (entry.kind === 'command') {
          machine.apply({ index: entry.index, term: entry.term, data: entry.data });
        } else if (entry.kind === 'config') {
          membership = entry.membership;
        }
      }
      lo += entries.length;
    }
    return {
      clusterId: storage.identity.clusterId,
      snapshotIndex: snapshot.meta.index,
      lastIndex,
      lastTerm: store.term(lastIndex) ?? snapshot.meta.term,
      commitIndex: store.initialHardState().commit,
      membership,
      data: machine.fsm.snapshot(),
    };
  } finally {
    await storage.close();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
