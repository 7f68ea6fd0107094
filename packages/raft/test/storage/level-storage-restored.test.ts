import type { Snapshot } from '../../src/core/index';
import { LevelStorage, isStorageError } from '../../src/storage/index';
import { tempDirs } from '../support/temp-dirs';

const freshDir = tempDirs('omnirelay-restored-');

const snapshot: Snapshot = {
  meta: { index: 5000, term: 9, membership: { voters: ['r1', 'r2', 'r3'], learners: [] } },
  data: Buffer.from('fsm state'),
};

describe('LevelStorage.createRestored', () => {
  it('creates a store that opens at the snapshot, its term and the new cluster id, with an empty log', async () => {
    const dir = freshDir();
    const identity = await LevelStorage.createRestored(dir, snapshot, 'restored-1');
    expect(identity).toMatchObject({ clusterId: 'restored-1', createdToJoin: false });
    const storage = await LevelStorage.open(dir, {
      bootstrap: { voters: ['ignored'], learners: [] },
      clusterId: 'restored-1',
    });
    try {
      expect(storage.created).toBe(false);
      expect(storage.identity).toEqual(identity);
      expect(storage.mirror.snapshot().meta).toEqual(snapshot.meta);
      expect(Buffer.from(storage.mirror.snapshot().data).toString()).toBe('fsm state');
      // The next entry, and so the next fence, comes after the snapshot.
      expect(storage.mirror.lastIndex()).toBe(5000);
      expect(storage.mirror.firstIndex()).toBe(5001);
      expect(storage.mirror.initialHardState()).toEqual({ term: 9, vote: '', commit: 5000 });
    } finally {
      await storage.close();
    }
  });

  it('gives every restored member its own incarnation', async () => {
    const a = await LevelStorage.createRestored(freshDir(), snapshot, 'restored-1');
    const b = await LevelStorage.createRestored(freshDir(), snapshot, 'restored-1');
    expect(a.incarnation).not.toBe(b.incarnation);
  });

  it('makes a store that the old cluster id cannot open', async () => {
    const dir = freshDir();
    await LevelStorage.createRestored(dir, snapshot, 'restored-1');
    let error: unknown;
    try {
      const s = await LevelStorage.open(dir, { bootstrap: snapshot.meta.membership, clusterId: 'old' });
      await s.close();
    } catch (e) {
      error = e;
    }
    expect(isStorageError(error, 'STORAGE_WRONG_CLUSTER')).toBe(true);
  });
});
