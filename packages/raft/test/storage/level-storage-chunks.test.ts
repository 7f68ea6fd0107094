/**
 * A snapshot's data is stored in chunks (format version 2): each a write of its own, so LevelDB's
 * copy of a large snapshot never holds the event loop in one turn; a version 1 store (the data in
 * one value) still opens and becomes version 2 with its next snapshot; chunks a crash left behind
 * are deleted at open; a damaged chunked snapshot is refused as corrupt.
 */
import { Level } from 'level';
import { Packr } from 'msgpackr';
import type { Entry, Membership } from '../../src/core/index';
import { snapshotChunkKey } from '../../src/storage/codec';
import { LevelStorage, isStorageError } from '../../src/storage/index';
import { tempDirs } from '../support/temp-dirs';

const membership: Membership = { voters: ['n1', 'n2', 'n3'], learners: [] };
const CHUNK = 64;
const packr = new Packr({ useRecords: false, moreTypes: false });
const freshDir = tempDirs('omnirelay-chunks-');

function range(from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++)
    out.push({ kind: 'command', index: i, term: 1, data: Buffer.from(`cmd-${i}`) });
  return out;
}

/** state is a snapshot's data at `index`: `bytes` long, different at every index and offset. */
function state(index: number, bytes: number): Buffer {
  return Buffer.from(Array.from({ length: bytes }, (_, i) => (index * 31 + i) % 251));
}

async function open(dir: string): Promise<LevelStorage> {
  return LevelStorage.open(dir, { bootstrap: membership, verifyWrites: true, snapshotChunkBytes: CHUNK });
}

/** raw runs `fn` on the closed store in `dir` through LevelDB itself. */
async function raw<T>(dir: string, fn: (db: Level<string, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function chunkKeys(db: Level<string, Uint8Array>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of db.keys({ gte: 'c', lt: 'd' })) keys.push(key);
  return keys;
}

/** aStoreWithSnapshot holds entries 1..12 and a snapshot at `index` of `bytes` bytes. */
async function aStoreWithSnapshot(index: number, bytes: number): Promise<string> {
  const dir = freshDir();
  const s = await open(dir);
  try {
    await s.save({
      hardState: { term: 1, vote: 'n1', commit: 12 },
      entries: range(1, 12),
      snapshot: undefined,
    });
    expect(await s.compact({ index, term: 1, membership }, state(index, bytes))).toBe(true);
  } finally {
    await s.close();
  }
  return dir;
}

async function openError(dir: string): Promise<unknown> {
  return open(dir).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

describe('LevelStorage snapshot chunks', () => {
  it('writes a compaction in chunks, one write each, and reopens the same bytes; the previous snapshot is deleted', async () => {
    const dir = freshDir();
    const s = await open(dir);
    const written: number[] = [];
    try {
      await s.save({
        hardState: { term: 1, vote: 'n1', commit: 12 },
        entries: range(1, 12),
        snapshot: undefined,
      });
      // Every value LevelDB is handed from here on: no single one may hold the whole snapshot.
      const db = (s as unknown as { db: Level<string, Uint8Array> }).db;
      const chained = db.batch.bind(db) as () => ReturnType<Level<string, Uint8Array>['batch']>;
      (db as unknown as { batch: typeof chained }).batch = () => {
        const batch = chained();
        const put = batch.put.bind(batch);
        batch.put = (key: string, value: Uint8Array) => {
          written.push(value.length);
          return put(key, value);
        };
        return batch;
      };
      expect(await s.compact({ index: 5, term: 1, membership }, state(5, 10 * CHUNK + 7))).toBe(true);
      expect(await s.compact({ index: 9, term: 1, membership }, state(9, 3 * CHUNK))).toBe(true);
    } finally {
      await s.close();
    }
    expect(Math.max(...written)).toBeLessThanOrEqual(CHUNK);
    // Ten whole chunks of the first snapshot and three of the second went through LevelDB.
    expect(written.filter((n) => n === CHUNK)).toHaveLength(13);
    const again = await open(dir);
    try {
      expect(again.mirror.snapshot().meta.index).toBe(9);
      expect(Buffer.from(again.mirror.snapshot().data).equals(state(9, 3 * CHUNK))).toBe(true);
    } finally {
      await again.close();
    }
    expect(await raw(dir, chunkKeys)).toEqual([0, 1, 2].map((n) => snapshotChunkKey(9, n)));
  });

  it('stores a received snapshot in chunks with the save that installs it', async () => {
    const dir = freshDir();
    const s = await open(dir);
    try {
      const snapshot = { meta: { index: 40, term: 3, membership }, data: state(40, 5 * CHUNK - 1) };
      await s.save({ hardState: { term: 3, vote: '', commit: 40 }, entries: [], snapshot });
    } finally {
      await s.close();
    }
    const again = await open(dir);
    try {
      expect(again.mirror.snapshot().meta.index).toBe(40);
      expect(Buffer.from(again.mirror.snapshot().data).equals(state(40, 5 * CHUNK - 1))).toBe(true);
    } finally {
      await again.close();
    }
    expect(await raw(dir, chunkKeys)).toHaveLength(5);
  });

  it('stores an empty snapshot as no chunks at all', async () => {
    const dir = await aStoreWithSnapshot(4, 0);
    const s = await open(dir);
    try {
      expect(s.mirror.snapshot().data.length).toBe(0);
    } finally {
      await s.close();
    }
    expect(await raw(dir, chunkKeys)).toEqual([]);
  });

  it('opens a format version 1 store (the data in one value) and upgrades it with its next snapshot', async () => {
    const dir = await aStoreWithSnapshot(5, 2 * CHUNK + 3);
    // What the previous build left: version 1, the data under 'sd', no layout, no chunks.
    await raw(dir, async (db) => {
      await db.batch([
        { type: 'put', key: 'v', value: packr.pack(1) },
        { type: 'put', key: 'sd', value: state(5, 2 * CHUNK + 3) },
        { type: 'del', key: 'sl' },
        ...[0, 1, 2].map((n) => ({ type: 'del' as const, key: snapshotChunkKey(5, n) })),
      ]);
    });
    const s = await open(dir);
    try {
      expect(Buffer.from(s.mirror.snapshot().data).equals(state(5, 2 * CHUNK + 3))).toBe(true);
      expect(await s.compact({ index: 8, term: 1, membership }, state(8, CHUNK + 1))).toBe(true);
    } finally {
      await s.close();
    }
    await raw(dir, async (db) => {
      expect(packr.unpack(await db.get('v'))).toBe(2);
      expect(await db.get('sd')).toBeUndefined();
      expect(await chunkKeys(db)).toEqual([snapshotChunkKey(8, 0), snapshotChunkKey(8, 1)]);
    });
  });

  it('deletes at open the chunks a crash left behind: of an unfinished snapshot, of the previous one, past the layout', async () => {
    const dir = await aStoreWithSnapshot(6, 2 * CHUNK);
    await raw(dir, (db) =>
      db.batch([
        { type: 'put', key: snapshotChunkKey(2, 0), value: Buffer.from('previous') },
        { type: 'put', key: snapshotChunkKey(6, 2), value: Buffer.from('an earlier try had 3 chunks') },
        { type: 'put', key: snapshotChunkKey(11, 0), value: Buffer.from('unfinished') },
      ]),
    );
    const s = await open(dir);
    try {
      expect(Buffer.from(s.mirror.snapshot().data).equals(state(6, 2 * CHUNK))).toBe(true);
    } finally {
      await s.close();
    }
    expect(await raw(dir, chunkKeys)).toEqual([snapshotChunkKey(6, 0), snapshotChunkKey(6, 1)]);
  });

  it.each([
    [
      'a missing chunk',
      (db: Level<string, Uint8Array>) => db.del(snapshotChunkKey(6, 1)),
      /chunk 1 of the snapshot at index 6 is missing/,
    ],
    [
      'a chunk of another length',
      (db: Level<string, Uint8Array>) => db.put(snapshotChunkKey(6, 1), Buffer.from('short')),
      /the snapshot at index 6 has 69 bytes, its layout says 128/,
    ],
    [
      'a layout of another snapshot',
      (db: Level<string, Uint8Array>) => db.put('sl', packr.pack({ index: 5, chunks: 2, bytes: 2 * CHUNK })),
      /the snapshot layout is of index 5, the snapshot metadata of 6/,
    ],
    [
      'a malformed layout',
      (db: Level<string, Uint8Array>) => db.put('sl', packr.pack({ index: 6, chunks: -1, bytes: 2 * CHUNK })),
      /the snapshot layout is malformed/,
    ],
    [
      'an undecodable layout',
      (db: Level<string, Uint8Array>) => db.put('sl', Buffer.from([0x85])),
      /snapshot layout cannot be decoded/,
    ],
  ])(
    'refuses a snapshot with %s as corrupt, naming the folder, and deletes nothing',
    async (_, damage, reason) => {
      const dir = await aStoreWithSnapshot(6, 2 * CHUNK);
      await raw(dir, (db) => damage(db));
      const before = await raw(dir, chunkKeys);
      const error = await openError(dir);
      expect(isStorageError(error, 'STORAGE_CORRUPT')).toBe(true);
      expect((error as Error).message).toContain(dir);
      expect((error as Error).message).toMatch(reason);
      expect(await raw(dir, chunkKeys)).toEqual(before);
    },
  );

  it('refuses a format version it does not read, saying which it does', async () => {
    const dir = await aStoreWithSnapshot(6, CHUNK);
    await raw(dir, (db) => db.put('v', packr.pack(3)));
    const error = await openError(dir);
    expect(isStorageError(error, 'STORAGE_CORRUPT')).toBe(true);
    expect((error as Error).message).toMatch(/format version 3 is not one this build reads \(1, 2\)/);
  });
});
