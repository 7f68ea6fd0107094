import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import type { Entry, HardState, Membership, Snapshot, SnapshotMeta } from '../core/index';
import {
  MemoryStorage,
  TERM_MAX,
  assert,
  isWellFormedEntry,
  isWellFormedHardState,
  isWellFormedSnapshotMeta,
} from '../core/index';
import {
  ENTRY_KEY_PREFIX,
  KEY_HARD_STATE,
  KEY_IDENTITY,
  KEY_SNAPSHOT_DATA,
  KEY_SNAPSHOT_LAYOUT,
  KEY_SNAPSHOT_META,
  KEY_VERSION,
  STORAGE_FORMAT_VERSION,
  STORAGE_FORMAT_VERSIONS_READ,
  decode,
  encode,
  entryKey,
  indexOfEntryKey,
  isSnapshotLayout,
  snapshotChunkKey,
  snapshotChunkRange,
} from './codec';
import type { SnapshotLayout } from './codec';
import type { LevelFailureKind } from './level-failure';
import { classifyLevelFailure } from './level-failure';
import type { StorageErrorCode } from './storage-error';
import { StorageError, isStorageError } from './storage-error';
import type { InitialClusterState, StoreIdentity } from './store-identity';
import { isStoreIdentity, newStoreIdentity } from './store-identity';

export type Operation = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/**
 * syncedBatch writes `ops` to `db` atomically and synced, through a chained batch: each operation
 * goes straight into LevelDB's native batch. abstract-level's array form first copies and checks
 * every operation in JavaScript (an object spread and encoding lookups each): 9–16% of each node's
 * CPU samples in compare's workload (a), and 0.72× / 0.37× / 0.20× the event-loop time per save of
 * 1 / 8 / 32 entries this way (`bench/storage/batch-forms.ts`; bench/README.md "Session 30"). The
 * write is handed to LevelDB's thread before this returns its promise, as the array form's was.
 */
export async function syncedBatch(db: Level<string, Uint8Array>, ops: readonly Operation[]): Promise<void> {
  const batch = db.batch();
  try {
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
  } catch (e) {
    await batch.close();
    throw e;
  }
  await batch.write({ sync: true });
}

/**
 * SNAPSHOT_CHUNK_BYTES is the size of each stored piece of a snapshot's data. LevelDB's binding
 * spends 60–70 ms on the event loop before it writes an 11 MiB value (100,000 leases), a few
 * milliseconds on a chunk, each write in a turn of its own. `npm run bench -- storage` compares
 * sizes: 256 KiB keeps the saves beside the compaction (the Ready loop's) quickest; smaller chunks
 * take longer to be durable, larger ones hold those saves longer.
 */
export const SNAPSHOT_CHUNK_BYTES = 1 << 18;

/** LevelStorageOptions configures LevelStorage.open. */
export interface LevelStorageOptions {
  /** bootstrap is the membership of a brand-new store created `new`; an existing store keeps its own. */
  readonly bootstrap: Membership;
  /**
   * initialClusterState says how a brand-new store starts: `new` (the default) with the bootstrap
   * membership, `existing` empty, to join a running cluster (see InitialClusterState).
   */
  readonly initialClusterState?: InitialClusterState;
  /** clusterId is recorded in a brand-new store; an existing store of another cluster id is refused. */
  readonly clusterId?: string;
  /** verifyWrites reads every batch back and asserts it matches (paired assertions; for tests and diagnosis). */
  readonly verifyWrites?: boolean;
  /** snapshotChunkBytes is the size of the chunks a snapshot's data is written in (SNAPSHOT_CHUNK_BYTES; smaller in tests). */
  readonly snapshotChunkBytes?: number;
}

/** SaveBatch is the part of a Ready that must be durable before its messages go out. */
export interface SaveBatch {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
}

/**
 * LevelStorage keeps a node's Raft state in LevelDB: the hard state, the log entries (one key
 * per entry, ordered by index), and the latest snapshot with its metadata (its data in chunks of
 * SNAPSHOT_CHUNK_BYTES, written before the metadata that names them). Each `save` is ONE
 * synced batch, however many entries it carries (group commit). `mirror` is the in-memory
 * RaftStorage the core reads synchronously; it is updated only after a write is durable.
 *
 * A failed write is fatal (StorageError STORAGE_WRITE_FAILED, or STORAGE_DISK_FULL when the file
 * system is full): the caller must stop the node.
 * A store that does not read back consistently is refused (STORAGE_CORRUPT), never rewritten.
 */
export class LevelStorage {
  private closed = false;
  /**
   * snapshotWrites orders the writes of the snapshot keys: a compaction runs beside the Ready
   * loop's saves, and must never land after (and so over) a newer snapshot a save installed.
   */
  private snapshotWrites: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Level<string, Uint8Array>,
    /** dataDir is the folder of this store. */
    readonly dataDir: string,
    /** mirror is the synchronous view of what is durable. */
    readonly mirror: MemoryStorage,
    private readonly verifyWrites: boolean,
    private readonly snapshotChunkBytes: number,
    /** identity is the store's cluster id and incarnation, fixed at its creation. */
    readonly identity: StoreIdentity,
    /** created is true when this open created the store (the data folder held none). */
    readonly created: boolean,
  ) {}

  /** holdsStore tells whether `dataDir` holds a LevelDB store already (its CURRENT file), without opening it. */
  static holdsStore(dataDir: string): boolean {
    return existsSync(join(dataDir, 'CURRENT'));
  }

  /**
   * createRestored creates, in `dataDir` (which must hold no store: the caller checks that the
   * folder is empty), the store of a member of a NEW cluster restored from a backup. The backup's
   * snapshot is all it holds: the log is empty, so the new cluster's first entry, and with it every
   * fence it grants, is `snapshot.meta.index + 1` or above. The hard state starts at the snapshot's
   * term (no entry may have a lower one; the first election is one above it), no vote, committed up
   * to the snapshot. The identity is `clusterId` with a fresh incarnation, created to bootstrap, so
   * the members of `snapshot.meta.membership` start unbound and the first leader binds them. The
   * snapshot's data goes first, in chunks; then everything else in one synced batch with the format
   * version: a crash before it leaves a store without a version, which open refuses.
   */
  static async createRestored(
    dataDir: string,
    snapshot: Snapshot,
    clusterId: string,
  ): Promise<StoreIdentity> {
    assert(!LevelStorage.holdsStore(dataDir), () => `createRestored: ${dataDir} already holds a store`);
    assert(snapshot.meta.index > 0, () => `createRestored: snapshot index ${snapshot.meta.index} is not ≥ 1`);
    const db = new Level<string, Uint8Array>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      throw openFailure(dataDir, e);
    }
    const identity = newStoreIdentity(clusterId, 'new');
    const { index, term } = snapshot.meta;
    const hardState: HardState = { term, vote: '', commit: index };
    const write = (ops: Operation[]): Promise<void> => syncedBatch(db, ops);
    try {
      const snapshotOps = await writeSnapshotChunks(write, snapshot, SNAPSHOT_CHUNK_BYTES);
      await write([
        ...snapshotOps,
        { type: 'put', key: KEY_HARD_STATE, value: encode(hardState) },
        { type: 'put', key: KEY_IDENTITY, value: encode(identity) },
      ]);
    } catch (e) {
      throw writeFailure(dataDir, e, 'writing the restored store: ');
    } finally {
      await db.close();
    }
    return identity;
  }

  /**
   * open opens (or creates) the store in `dataDir` and loads it into the mirror. A failure says
   * what it is (see StorageErrorCode): only a damaged store is STORAGE_CORRUPT; a lock held by
   * another process, missing permissions, a path that is not a folder and a full disk each have
   * their own code, because the advice differs (a store that is fine must not be moved aside).
   */
  static async open(dataDir: string, options: LevelStorageOptions): Promise<LevelStorage> {
    const db = new Level<string, Uint8Array>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      throw openFailure(dataDir, e);
    }
    try {
      const { mirror, identity, created } = await LevelStorage.load(db, dataDir, options);
      const chunkBytes = options.snapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES;
      assert(
        Number.isSafeInteger(chunkBytes) && chunkBytes > 0,
        () => `snapshotChunkBytes ${chunkBytes} is not ≥ 1`,
      );
      return new LevelStorage(
        db,
        dataDir,
        mirror,
        options.verifyWrites ?? false,
        chunkBytes,
        identity,
        created,
      );
    } catch (e) {
      await db.close().catch(() => undefined);
      // Reads and the first writes of the load fail like an open does (a full disk, a damaged table).
      throw isStorageError(e) ? e : openFailure(dataDir, e);
    }
  }

  private static async load(
    db: Level<string, Uint8Array>,
    dataDir: string,
    options: LevelStorageOptions,
  ): Promise<{ mirror: MemoryStorage; identity: StoreIdentity; created: boolean }> {
    const corrupt = (detail: string): StorageError => new StorageError('STORAGE_CORRUPT', dataDir, detail);
    const clusterId = options.clusterId ?? '';
    const versionBytes = await db.get(KEY_VERSION);
    if (versionBytes === undefined) {
      // A brand-new store, unless something else is already in it.
      for await (const key of db.keys({ limit: 1 })) {
        throw corrupt(`it holds key ${JSON.stringify(key)} but no format version`);
      }
      const state = options.initialClusterState ?? 'new';
      const membership: Membership = state === 'new' ? options.bootstrap : { voters: [], learners: [] };
      const identity = newStoreIdentity(clusterId, state);
      const meta: SnapshotMeta = { index: 0, term: 0, membership };
      await syncedBatch(db, [
        { type: 'put', key: KEY_SNAPSHOT_META, value: encode(meta) },
        { type: 'put', key: KEY_IDENTITY, value: encode(identity) },
        { type: 'put', key: KEY_VERSION, value: encode(STORAGE_FORMAT_VERSION) },
      ]);
      return { mirror: MemoryStorage.bootstrap(membership), identity, created: true };
    }
    const version = decodeOrThrow(versionBytes, corrupt, 'format version');
    if (!STORAGE_FORMAT_VERSIONS_READ.includes(version)) {
      throw corrupt(
        `format version ${JSON.stringify(version)} is not one this build reads (${STORAGE_FORMAT_VERSIONS_READ.join(', ')})`,
      );
    }
    const metaBytes = await db.get(KEY_SNAPSHOT_META);
    if (metaBytes === undefined) throw corrupt('the snapshot metadata is missing');
    const meta = decodeOrThrow(metaBytes, corrupt, 'snapshot metadata');
    if (!isWellFormedSnapshotMeta(meta)) throw corrupt('the snapshot metadata is malformed');
    const data =
      meta.index === 0 ? new Uint8Array(0) : await LevelStorage.loadSnapshotData(db, meta.index, corrupt);
    const mirror = new MemoryStorage({ meta, data });

    const entries: Entry[] = [];
    let expected = meta.index + 1;
    let previousTerm = meta.term;
    for await (const [key, value] of db.iterator({ gte: ENTRY_KEY_PREFIX, lt: 'f' })) {
      const index = indexOfEntryKey(key);
      if (Number.isNaN(index)) throw corrupt(`key ${JSON.stringify(key)} is not an entry key`);
      // Entries at or below the snapshot are leftovers of a compaction cut short by a crash.
      if (index <= meta.index) continue;
      if (index !== expected)
        throw corrupt(`the log has a gap: entry ${expected} is missing before ${index}`);
      const entry = decodeOrThrow(value, corrupt, `entry ${index}`);
      if (!isWellFormedEntry(entry) || entry.index !== index) throw corrupt(`entry ${index} is malformed`);
      if (entry.term < previousTerm) {
        throw corrupt(`entry ${index} has term ${entry.term}, below the previous term ${previousTerm}`);
      }
      previousTerm = entry.term;
      entries.push(entry);
      expected++;
    }
    mirror.append(entries);

    const hardBytes = await db.get(KEY_HARD_STATE);
    if (hardBytes !== undefined) {
      const hard = decodeOrThrow(hardBytes, corrupt, 'hard state');
      if (!isWellFormedHardState(hard)) throw corrupt('the hard state is malformed');
      // A term above TERM_MAX (a forged or buggy peer message accepted before nodes refused such
      // terms, issue 22) can never be followed by an election: refuse to start rather than loop.
      if (hard.term > TERM_MAX) {
        throw new StorageError(
          'STORAGE_TERM_UNUSABLE',
          dataDir,
          `its current term ${hard.term} is above TERM_MAX ${TERM_MAX}`,
        );
      }
      if (hard.commit > mirror.lastIndex()) {
        throw corrupt(`the commit index ${hard.commit} is beyond the last entry ${mirror.lastIndex()}`);
      }
      if (hard.term < previousTerm) {
        throw corrupt(`the current term ${hard.term} is below the last entry's term ${previousTerm}`);
      }
      mirror.setHardState(hard);
    }
    const identity = await LevelStorage.loadIdentity(db, dataDir, clusterId, corrupt);
    return { mirror, identity, created: false };
  }

  /**
   * loadSnapshotData reads the data of the stored snapshot at `index`: its chunks (format version
   * 2) or its single value (version 1). It deletes the chunks of any other snapshot: those of one
   * a crash cut short before its metadata was written, or of the one before it whose deletion a
   * crash cut short.
   */
  private static async loadSnapshotData(
    db: Level<string, Uint8Array>,
    index: number,
    corrupt: (detail: string) => StorageError,
  ): Promise<Uint8Array> {
    const range = snapshotChunkRange(index);
    const layoutBytes = await db.get(KEY_SNAPSHOT_LAYOUT);
    let data: Uint8Array | undefined;
    let chunks = 0;
    if (layoutBytes === undefined) {
      data = await db.get(KEY_SNAPSHOT_DATA);
      if (data === undefined) throw corrupt(`the data of the snapshot at index ${index} is missing`);
    } else {
      const layout = decodeOrThrow(layoutBytes, corrupt, 'snapshot layout');
      if (!isSnapshotLayout(layout)) throw corrupt('the snapshot layout is malformed');
      if (layout.index !== index) {
        throw corrupt(`the snapshot layout is of index ${layout.index}, the snapshot metadata of ${index}`);
      }
      chunks = layout.chunks;
      const keys = Array.from({ length: chunks }, (_, n) => snapshotChunkKey(index, n));
      const values = await db.getMany(keys);
      const missing = values.findIndex((v) => v === undefined);
      if (missing >= 0) throw corrupt(`chunk ${missing} of the snapshot at index ${index} is missing`);
      data = Buffer.concat(values);
      if (data.length !== layout.bytes) {
        throw corrupt(
          `the snapshot at index ${index} has ${data.length} bytes, its layout says ${layout.bytes}`,
        );
      }
    }
    await db.clear(range.below);
    await db.clear(range.above);
    await db.clear({ gte: snapshotChunkKey(index, chunks), lt: range.lt });
    return data;
  }

  /**
   * loadIdentity reads the store's identity and refuses a store of another cluster id. A store
   * written before identities existed gets one now (a new incarnation; it was not created to join).
   */
  private static async loadIdentity(
    db: Level<string, Uint8Array>,
    dataDir: string,
    clusterId: string,
    corrupt: (detail: string) => StorageError,
  ): Promise<StoreIdentity> {
    const bytes = await db.get(KEY_IDENTITY);
    if (bytes === undefined) {
      const identity = newStoreIdentity(clusterId, 'new');
      await db.put(KEY_IDENTITY, encode(identity), { sync: true });
      return identity;
    }
    const identity = decodeOrThrow(bytes, corrupt, 'store identity');
    if (!isStoreIdentity(identity)) throw corrupt('the store identity is malformed');
    if (clusterId !== '' && identity.clusterId !== '' && identity.clusterId !== clusterId) {
      throw new StorageError(
        'STORAGE_WRONG_CLUSTER',
        dataDir,
        `it belongs to cluster ${JSON.stringify(identity.clusterId)}, not ${JSON.stringify(clusterId)}`,
      );
    }
    return identity;
  }

  /**
   * save makes a Ready's hard state, received snapshot and new entries durable in one synced
   * batch, then updates the mirror. New entries overwrite any suffix from their first index on.
   */
  async save(batch: SaveBatch): Promise<void> {
    if (batch.snapshot === undefined) return this.saveNow(batch);
    return this.inSnapshotOrder(() => this.saveNow(batch));
  }

  private async saveNow(batch: SaveBatch): Promise<void> {
    const mirror = this.mirror;
    if (batch.snapshot !== undefined) {
      const { index } = batch.snapshot.meta;
      assert(index > mirror.snapshot().meta.index, () => {
        return `save: snapshot ${index} not newer than the stored one ${mirror.snapshot().meta.index}`;
      });
    }
    // The data goes first, in chunks (each its own write and turn); the batch below makes it the
    // stored snapshot. Nothing the code below reads from the mirror changes meanwhile: snapshot
    // writes are ordered, and the Ready loop waits for this save.
    const ops: Operation[] =
      batch.snapshot === undefined ? [] : await this.writeSnapshotChunks(batch.snapshot);
    let lastAfter = mirror.lastIndex();
    // New entries go after the snapshot, never into the tail kept before its index.
    let firstAfter = mirror.snapshot().meta.index + 1;
    if (batch.snapshot !== undefined) {
      const { index, term } = batch.snapshot.meta;
      const keepsTail = index <= mirror.lastIndex() && mirror.term(index) === term;
      // Entries covered by the snapshot go (below: lazily, at compaction; they are skipped on load).
      const dropFrom = keepsTail ? index + 1 : Math.max(index + 1, mirror.firstIndex());
      if (!keepsTail) {
        for (let i = dropFrom; i <= mirror.lastIndex(); i++) ops.push({ type: 'del', key: entryKey(i) });
        lastAfter = index;
      }
      firstAfter = index + 1;
    }
    const first = batch.entries[0]?.index;
    if (first !== undefined) {
      assert(first >= firstAfter && first <= lastAfter + 1, () => {
        return `save: entries from ${first} do not fit the log [${firstAfter}, ${lastAfter}]`;
      });
      for (const entry of batch.entries)
        ops.push({ type: 'put', key: entryKey(entry.index), value: encode(entry) });
      const newLast = batch.entries[batch.entries.length - 1]!.index;
      for (let i = newLast + 1; i <= lastAfter; i++) ops.push({ type: 'del', key: entryKey(i) });
      lastAfter = newLast;
    }
    if (batch.hardState !== undefined) {
      assert(batch.hardState.commit <= lastAfter, () => {
        return `save: commit ${batch.hardState?.commit} beyond the last entry ${lastAfter}`;
      });
      ops.push({ type: 'put', key: KEY_HARD_STATE, value: encode(batch.hardState) });
    }
    if (ops.length === 0) return;
    // The commit index is only a restart optimisation (Raft re-learns it from the leader; on open
    // the log takes max(commit, snapshot index)), so a save that changes nothing but the commit
    // index writes nothing: a crash can only make the persisted commit older, never wrong, and
    // the next write of the hard state carries the newest commit. Such saves sit between every
    // commit and its apply, on the leader and on followers; a write of its own (even unsynced)
    // cost a threadpool round trip on that path. Entries, snapshots, term and vote are always
    // written and synced.
    const previous = mirror.initialHardState();
    const onlyCommit =
      batch.entries.length === 0 &&
      batch.snapshot === undefined &&
      batch.hardState !== undefined &&
      batch.hardState.term === previous.term &&
      batch.hardState.vote === previous.vote;
    if (!onlyCommit) await this.write(ops);
    if (batch.snapshot !== undefined) mirror.installSnapshot(batch.snapshot);
    mirror.append(batch.entries);
    if (batch.hardState !== undefined) mirror.setHardState(batch.hardState);
    if (batch.snapshot !== undefined) {
      await this.clearEntriesThrough(batch.snapshot.meta.index);
      await this.clearChunksBelow(batch.snapshot.meta.index);
    }
  }

  /**
   * compact records a snapshot the local state machine took at `meta.index` and deletes the log
   * entries it covers, except the last ones up to its index: at most `tailEntries`, together at
   * most `tailBytesMax` bytes (kept so that a follower a little behind gets entries, not a
   * snapshot; a restart drops the tail). The snapshot is
   * durable before any entry is deleted. It may run beside `save`: it returns false, writing
   * nothing, when a snapshot at or past `meta.index` is already stored (one received from the
   * leader while this one was being encoded).
   */
  async compact(
    meta: SnapshotMeta,
    data: Uint8Array,
    tailEntries = 0,
    tailBytesMax = Infinity,
  ): Promise<boolean> {
    return this.inSnapshotOrder(async () => {
      const mirror = this.mirror;
      if (meta.index <= mirror.snapshot().meta.index) return false;
      assert(meta.index <= mirror.lastIndex(), () => {
        return `compact(${meta.index}) beyond the log [${mirror.firstIndex()}, ${mirror.lastIndex()}]`;
      });
      await this.write(await this.writeSnapshotChunks({ meta, data }));
      const firstBefore = mirror.firstIndex();
      mirror.createSnapshot(meta, data, tailEntries, tailBytesMax);
      if (mirror.firstIndex() > firstBefore) await this.clearEntriesThrough(mirror.firstIndex() - 1);
      await this.clearChunksBelow(meta.index);
      return true;
    });
  }

  /** inSnapshotOrder runs `write` after every earlier write of the snapshot keys settled. */
  private inSnapshotOrder<T>(write: () => Promise<T>): Promise<T> {
    const run = this.snapshotWrites.then(write, write);
    this.snapshotWrites = run.catch(() => undefined);
    return run;
  }

  /** close closes the store; further writes fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private async clearEntriesThrough(index: number): Promise<void> {
    try {
      await this.db.clear({ gte: ENTRY_KEY_PREFIX, lte: entryKey(index) });
    } catch (e) {
      throw writeFailure(this.dataDir, e, 'deleting compacted entries: ');
    }
  }

  /** writeSnapshotChunks writes a snapshot's data (see the function of that name) with this store's writes. */
  private writeSnapshotChunks(snapshot: Snapshot): Promise<Operation[]> {
    return writeSnapshotChunks((ops) => this.write(ops), snapshot, this.snapshotChunkBytes);
  }

  /** clearChunksBelow deletes the data of the snapshots before the one at `index`, once it is stored. */
  private async clearChunksBelow(index: number): Promise<void> {
    try {
      await this.db.clear(snapshotChunkRange(index).below);
    } catch (e) {
      throw writeFailure(this.dataDir, e, 'deleting the previous snapshot: ');
    }
  }

  private async write(ops: Operation[]): Promise<void> {
    try {
      await syncedBatch(this.db, ops);
    } catch (e) {
      throw writeFailure(this.dataDir, e, '');
    }
    if (this.verifyWrites) await this.verify(ops);
  }

  /** verify reads a batch back: what was written must read the same; what was deleted must be gone. */
  private async verify(ops: Operation[]): Promise<void> {
    const values = await this.db.getMany(ops.map((op) => op.key));
    ops.forEach((op, i) => {
      const got = values[i];
      if (op.type === 'del') {
        assert(got === undefined, () => `read-back: ${op.key} still present after delete`);
      } else {
        assert(got !== undefined && Buffer.compare(Buffer.from(got), Buffer.from(op.value)) === 0, () => {
          return `read-back: ${op.key} differs from what was written`;
        });
      }
    });
  }
}

/**
 * writeSnapshotChunks writes the data of `snapshot` in chunks of `chunkBytes` under keys of its
 * index, one synced write each, and returns the operations that make it the stored snapshot (its
 * metadata, its layout, the format version; the version 1 single value deleted), for the caller's
 * one synced batch. Each chunk is synced on its own: LevelDB's final sync flushes only the log
 * file in use, and a memtable switch between the chunks and the batch may have left earlier
 * chunks in a log it had moved away from. A crash before the batch leaves chunks no layout names;
 * open deletes them.
 */
async function writeSnapshotChunks(
  write: (ops: Operation[]) => Promise<void>,
  snapshot: Snapshot,
  chunkBytes: number,
): Promise<Operation[]> {
  const { meta, data } = snapshot;
  const chunks = Math.ceil(data.length / chunkBytes);
  for (let n = 0; n < chunks; n++) {
    const value = data.subarray(n * chunkBytes, (n + 1) * chunkBytes);
    await write([{ type: 'put', key: snapshotChunkKey(meta.index, n), value }]);
  }
  const layout: SnapshotLayout = { index: meta.index, chunks, bytes: data.length };
  return [
    { type: 'put', key: KEY_SNAPSHOT_META, value: encode(meta) },
    { type: 'put', key: KEY_SNAPSHOT_LAYOUT, value: encode(layout) },
    { type: 'del', key: KEY_SNAPSHOT_DATA },
    { type: 'put', key: KEY_VERSION, value: encode(STORAGE_FORMAT_VERSION) },
  ];
}

function decodeOrThrow(bytes: Uint8Array, corrupt: (detail: string) => StorageError, what: string): unknown {
  try {
    return decode(bytes);
  } catch (e) {
    throw corrupt(`the ${what} cannot be decoded (${errorText(e)})`);
  }
}

/** OPEN_FAILURE_CODES is the StorageErrorCode of each kind of failure to open a store. */
const OPEN_FAILURE_CODES: Readonly<Record<LevelFailureKind, StorageErrorCode>> = {
  locked: 'STORAGE_LOCKED',
  'disk-full': 'STORAGE_DISK_FULL',
  'access-denied': 'STORAGE_ACCESS_DENIED',
  'not-a-folder': 'STORAGE_NOT_A_FOLDER',
  corrupt: 'STORAGE_CORRUPT',
  other: 'STORAGE_OPEN_FAILED',
};

/** openFailure is the StorageError for a failure to open or load the store in `dataDir`. */
function openFailure(dataDir: string, e: unknown): StorageError {
  const { kind, detail } = classifyLevelFailure(e);
  return new StorageError(OPEN_FAILURE_CODES[kind], dataDir, `LevelDB reported "${detail}"`, { cause: e });
}

/**
 * writeFailure is the StorageError for a failed durable write: STORAGE_DISK_FULL when the file
 * system is full, STORAGE_WRITE_FAILED otherwise. Both stop the node.
 */
function writeFailure(dataDir: string, e: unknown, what: string): StorageError {
  const { kind, detail } = classifyLevelFailure(e);
  const code = kind === 'disk-full' ? 'STORAGE_DISK_FULL' : 'STORAGE_WRITE_FAILED';
  return new StorageError(code, dataDir, `${what}${detail}`, { cause: e });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
