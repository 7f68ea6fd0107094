import { rmSync } from 'node:fs';
import { Level } from 'level';
import type { Entry, HardState, Membership } from '../../src/core/index';
import { TERM_MAX } from '../../src/core/index';
import { LevelStorage, isStorageError } from '../../src/storage/index';
import { tempDirs } from '../support/temp-dirs';

const membership: Membership = { voters: ['n1', 'n2', 'n3'], learners: [] };
const freshDir = tempDirs('omnirelay-storage-');

function command(index: number, term: number): Entry {
  return { kind: 'command', index, term, data: Buffer.from(`cmd-${index}-${term}`) };
}

function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(command(i, term));
  return out;
}

/** saveCommitted saves entries 1..`last` of term 1, all committed. */
async function saveCommitted(s: LevelStorage, last: number): Promise<void> {
  await s.save({
    hardState: { term: 1, vote: 'n1', commit: last },
    entries: range(1, last, 1),
    snapshot: undefined,
  });
}

/** entryKeysIn lists the log entry keys stored in `dir` (the store must be closed). */
async function entryKeysIn(dir: string): Promise<string[]> {
  const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
  const keys: string[] = [];
  for await (const key of db.keys({ gte: 'e', lt: 'f' })) keys.push(key);
  await db.close();
  return keys;
}

async function withStore<T>(dir: string, fn: (s: LevelStorage) => T | Promise<T>): Promise<T> {
  const store = await LevelStorage.open(dir, { bootstrap: membership, verifyWrites: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('LevelStorage', () => {
  it('creates a store with a fixed identity: a new incarnation each time the folder is created', async () => {
    const dir = freshDir();
    const first = await LevelStorage.open(dir, { bootstrap: membership, clusterId: 'prod' });
    expect(first.created).toBe(true);
    expect(first.identity).toMatchObject({ clusterId: 'prod', createdToJoin: false });
    const incarnation = first.identity.incarnation;
    await first.close();
    const again = await LevelStorage.open(dir, { bootstrap: membership, clusterId: 'prod' });
    expect(again.created).toBe(false);
    expect(again.identity.incarnation).toBe(incarnation);
    await again.close();
    rmSync(dir, { recursive: true, force: true });
    const wiped = await LevelStorage.open(dir, {
      bootstrap: membership,
      clusterId: 'prod',
      initialClusterState: 'existing',
    });
    expect(wiped.identity.incarnation).not.toBe(incarnation);
    expect(wiped.identity.createdToJoin).toBe(true);
    // An empty folder opened `existing` does not bootstrap: it waits to learn the configuration.
    expect(wiped.mirror.snapshot().meta.membership).toEqual({ voters: [], learners: [] });
    await wiped.close();
  });

  it('refuses a store of another cluster id, naming both and what to do, and leaves it untouched', async () => {
    const dir = freshDir();
    await (await LevelStorage.open(dir, { bootstrap: membership, clusterId: 'prod' })).close();
    const error: unknown = await LevelStorage.open(dir, { bootstrap: membership, clusterId: 'staging' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStorageError(error, 'STORAGE_WRONG_CLUSTER')).toBe(true);
    expect(String(error)).toMatch(/belongs to cluster "prod", not "staging".*--cluster-id/);
    const reopened = await LevelStorage.open(dir, { bootstrap: membership, clusterId: 'prod' });
    expect(reopened.identity.clusterId).toBe('prod');
    await reopened.close();
  });

  it('bootstraps a new store with the given membership and an empty log', async () => {
    const dir = freshDir();
    await withStore(dir, (s) => {
      expect(s.mirror.snapshot().meta).toEqual({ index: 0, term: 0, membership });
      expect(s.mirror.lastIndex()).toBe(0);
      expect(s.mirror.initialHardState()).toEqual({ term: 0, vote: '', commit: 0 });
    });
  });

  it('reads back entries and hard state after a reopen, and ignores a new bootstrap membership', async () => {
    const dir = freshDir();
    const hard: HardState = { term: 2, vote: 'n1', commit: 3 };
    await withStore(dir, (s) => s.save({ hardState: hard, entries: range(1, 5, 2), snapshot: undefined }));
    const reopened = await LevelStorage.open(dir, { bootstrap: { voters: ['x'], learners: [] } });
    try {
      expect(reopened.mirror.initialHardState()).toEqual(hard);
      expect(reopened.mirror.lastIndex()).toBe(5);
      expect(reopened.mirror.entries(1, 6, Infinity)).toEqual(range(1, 5, 2));
      expect(reopened.mirror.snapshot().meta.membership).toEqual(membership);
    } finally {
      await reopened.close();
    }
  });

  it('writes nothing for a save that only moves the commit index; the next hard-state write carries it', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await s.save({
        hardState: { term: 2, vote: 'n1', commit: 3 },
        entries: range(1, 6, 2),
        snapshot: undefined,
      });
      await s.save({ hardState: { term: 2, vote: 'n1', commit: 5 }, entries: [], snapshot: undefined });
      expect(s.mirror.initialHardState()).toEqual({ term: 2, vote: 'n1', commit: 5 });
    });
    // A crash here finds the older commit: Raft re-learns the rest from the leader.
    await withStore(dir, (s) =>
      expect(s.mirror.initialHardState()).toEqual({ term: 2, vote: 'n1', commit: 3 }),
    );
    await withStore(dir, async (s) => {
      await s.save({ hardState: { term: 2, vote: 'n1', commit: 5 }, entries: [], snapshot: undefined });
      await s.save({ hardState: undefined, entries: range(7, 7, 2), snapshot: undefined });
      // A change of term or vote is always written, with the newest commit.
      await s.save({ hardState: { term: 3, vote: '', commit: 6 }, entries: [], snapshot: undefined });
    });
    await withStore(dir, (s) => {
      expect(s.mirror.initialHardState()).toEqual({ term: 3, vote: '', commit: 6 });
      expect(s.mirror.lastIndex()).toBe(7);
    });
  });

  it('overwrites a conflicting suffix and deletes the entries beyond the new last index', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await s.save({ hardState: undefined, entries: range(1, 10, 1), snapshot: undefined });
      await s.save({ hardState: undefined, entries: range(6, 7, 2), snapshot: undefined });
    });
    await withStore(dir, (s) => {
      expect(s.mirror.lastIndex()).toBe(7);
      expect(s.mirror.term(5)).toBe(1);
      expect(s.mirror.term(6)).toBe(2);
    });
  });

  it('installs a received snapshot that does not match the log by discarding the whole log', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await s.save({ hardState: undefined, entries: range(1, 10, 1), snapshot: undefined });
      await s.save({
        hardState: { term: 3, vote: '', commit: 20 },
        entries: [],
        snapshot: { meta: { index: 20, term: 3, membership }, data: Buffer.from('state@20') },
      });
    });
    await withStore(dir, (s) => {
      expect(s.mirror.firstIndex()).toBe(21);
      expect(s.mirror.lastIndex()).toBe(20);
      expect(Buffer.from(s.mirror.snapshot().data).toString()).toBe('state@20');
    });
  });

  it('keeps the entries after a received snapshot whose last entry it already holds', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await s.save({ hardState: undefined, entries: range(1, 10, 1), snapshot: undefined });
      await s.save({
        hardState: undefined,
        entries: [],
        snapshot: { meta: { index: 6, term: 1, membership }, data: Buffer.from('state@6') },
      });
    });
    await withStore(dir, (s) => {
      expect(s.mirror.firstIndex()).toBe(7);
      expect(s.mirror.lastIndex()).toBe(10);
    });
  });

  it('compacts: the snapshot replaces the entries it covers, and a restart starts from it', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await saveCommitted(s, 10);
      await s.compact({ index: 8, term: 1, membership }, Buffer.from('state@8'));
      expect(s.mirror.firstIndex()).toBe(9);
    });
    const entryKeys = await entryKeysIn(dir);
    expect(entryKeys).toHaveLength(2);
    await withStore(dir, (s) => {
      expect(s.mirror.snapshot().meta.index).toBe(8);
      expect(s.mirror.entries(9, 11, Infinity)).toEqual(range(9, 10, 1));
    });
  });

  it('compacts keeping a tail of entries up to the snapshot index; a restart drops the tail', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await saveCommitted(s, 10);
      expect(await s.compact({ index: 8, term: 1, membership }, Buffer.from('state@8'), 3)).toBe(true);
      expect([s.mirror.firstIndex(), s.mirror.lastIndex()]).toEqual([6, 10]);
      expect(s.mirror.entries(6, 11, Infinity)).toEqual(range(6, 10, 1));
      await s.save({ hardState: undefined, entries: range(11, 11, 1), snapshot: undefined });
    });
    const entryKeys = await entryKeysIn(dir);
    expect(entryKeys).toHaveLength(6);
    await withStore(dir, async (s) => {
      expect([s.mirror.snapshot().meta.index, s.mirror.firstIndex(), s.mirror.lastIndex()]).toEqual([
        8, 9, 11,
      ]);
      // The next compaction deletes what the restart left behind.
      expect(await s.compact({ index: 10, term: 1, membership }, Buffer.from('state@10'), 0)).toBe(true);
    });
    expect(await entryKeysIn(dir)).toHaveLength(1);
  });

  it('drops a compaction older than a snapshot received while it was encoded, writing nothing', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await saveCommitted(s, 10);
      const received = s.save({
        hardState: { term: 3, vote: '', commit: 20 },
        entries: [],
        snapshot: { meta: { index: 20, term: 3, membership }, data: Buffer.from('state@20') },
      });
      // Issued while the received snapshot is being written: it must wait for it, then give up.
      const compacted = s.compact({ index: 8, term: 1, membership }, Buffer.from('state@8'), 2);
      await received;
      expect(await compacted).toBe(false);
      expect(s.mirror.snapshot().meta.index).toBe(20);
    });
    await withStore(dir, (s) => {
      expect(Buffer.from(s.mirror.snapshot().data).toString()).toBe('state@20');
    });
  });

  it('refuses entries that would leave a gap, before writing anything', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await expect(
        s.save({ hardState: undefined, entries: range(3, 4, 1), snapshot: undefined }),
      ).rejects.toThrow(/do not fit the log/);
      expect(s.mirror.lastIndex()).toBe(0);
    });
  });
});

describe('LevelStorage on a damaged store', () => {
  async function damage(dir: string, fn: (db: Level<string, Uint8Array>) => Promise<void>): Promise<void> {
    const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
    await fn(db);
    await db.close();
  }

  async function expectCorrupt(dir: string, pattern: RegExp): Promise<void> {
    const error: unknown = await LevelStorage.open(dir, { bootstrap: membership }).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(isStorageError(error, 'STORAGE_CORRUPT')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(dir);
    expect(message).toMatch(pattern);
    expect(message).toMatch(/move .* aside/);
  }

  it('reports a gap in the log, naming the folder and what to do', async () => {
    const dir = freshDir();
    await withStore(dir, (s) =>
      s.save({ hardState: undefined, entries: range(1, 5, 1), snapshot: undefined }),
    );
    await damage(dir, (db) => db.del('e' + (3).toString(16).padStart(16, '0')));
    await expectCorrupt(dir, /entry 3 is missing/);
  });

  it('reports an entry that cannot be decoded', async () => {
    const dir = freshDir();
    await withStore(dir, (s) =>
      s.save({ hardState: undefined, entries: range(1, 2, 1), snapshot: undefined }),
    );
    await damage(dir, (db) => db.put('e' + (2).toString(16).padStart(16, '0'), Buffer.from([0xc1, 0xff])));
    await expectCorrupt(dir, /entry 2/);
  });

  it('reports a commit index beyond the log', async () => {
    const dir = freshDir();
    await withStore(dir, (s) =>
      s.save({ hardState: { term: 1, vote: '', commit: 2 }, entries: range(1, 2, 1), snapshot: undefined }),
    );
    await damage(dir, (db) => db.del('e' + (2).toString(16).padStart(16, '0')));
    await expectCorrupt(dir, /commit index 2 is beyond the last entry 1/);
  });

  it('reports a store of another format version', async () => {
    const dir = freshDir();
    await withStore(dir, () => Promise.resolve());
    const { Packr } = await import('msgpackr');
    await damage(dir, (db) => db.put('v', new Packr({ useRecords: false }).pack(99)));
    await expectCorrupt(dir, /format version 99/);
  });

  it('reports a folder that holds something other than a Raft store', async () => {
    const dir = freshDir();
    await damage(dir, (db) => db.put('unrelated', Buffer.from('x')));
    await expectCorrupt(dir, /no format version/);
  });
});

describe('LevelStorage with a term no election can move past (issue 22)', () => {
  async function openError(dir: string): Promise<unknown> {
    return LevelStorage.open(dir, { bootstrap: membership }).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
  }

  it('refuses to open a store whose term is 2^53 - 1, naming the folder and the recovery, and leaves it untouched', async () => {
    const dir = freshDir();
    // What a node persisted before the fix, after adopting a forged heartbeat's term.
    const poisoned = { term: Number.MAX_SAFE_INTEGER, vote: '', commit: 2 };
    await withStore(dir, (s) =>
      s.save({ hardState: poisoned, entries: range(1, 2, 1), snapshot: undefined }),
    );
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await openError(dir);
      expect(isStorageError(error, 'STORAGE_TERM_UNUSABLE')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain(dir);
      expect(message).toContain(`term ${Number.MAX_SAFE_INTEGER} is above TERM_MAX ${TERM_MAX}`);
      expect(message).toMatch(/move .* aside/);
      expect(message).toMatch(/rejoin the node as a new member/);
    }
    const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
    try {
      expect(await db.get('e' + (2).toString(16).padStart(16, '0'))).toBeDefined();
    } finally {
      await db.close();
    }
  });

  it('opens a store at TERM_MAX itself', async () => {
    const dir = freshDir();
    const hardState = { term: TERM_MAX, vote: 'n2', commit: 1 };
    await withStore(dir, (s) => s.save({ hardState, entries: range(1, 1, 1), snapshot: undefined }));
    await withStore(dir, (s) => expect(s.mirror.initialHardState()).toEqual(hardState));
  });
});

describe('LevelStorage for a joining node', () => {
  it('reopens a store bootstrapped with no voters (it learns the configuration from the leader)', async () => {
    const dir = freshDir();
    const empty = { voters: [], learners: [] };
    const first = await LevelStorage.open(dir, { bootstrap: empty });
    await first.close();
    const again = await LevelStorage.open(dir, { bootstrap: empty });
    expect(again.mirror.snapshot().meta.membership).toEqual(empty);
    await again.close();
  });
});
