import type { Entry } from '../../src/core/index';
import { MemoryStorage, entrySizeBytes, isInvariantViolation } from '../../src/core/index';

const MEMBERSHIP = { voters: ['n1'], learners: [] };
const noop = (index: number, term: number): Entry => ({ kind: 'noop', index, term });
const cmd = (index: number, term: number, bytes: number): Entry => ({
  kind: 'command',
  index,
  term,
  data: new Uint8Array(bytes),
});

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('MemoryStorage', () => {
  it('starts empty from the bootstrap membership', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    expect([s.firstIndex(), s.lastIndex(), s.term(0)]).toEqual([1, 0, 0]);
    expect(s.initialHardState()).toEqual({ term: 0, vote: '', commit: 0 });
    expect(s.snapshot().meta).toEqual({ index: 0, term: 0, membership: MEMBERSHIP });
  });

  it('appends, and replaces the tail from an index it already holds', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1), noop(3, 1)]);
    s.append([noop(2, 2)]);
    expect(s.allEntries().map((e) => `${e.index}/${e.term}`)).toEqual(['1/1', '2/2']);
    expect(s.term(3)).toBeUndefined();
  });

  it('refuses an append that leaves a gap or is not contiguous', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1)]);
    expect(isInvariantViolation(thrown(() => s.append([noop(3, 1)])))).toBe(true);
    expect(isInvariantViolation(thrown(() => s.append([noop(2, 1), noop(4, 1)])))).toBe(true);
  });

  it('returns at least one entry and caps the rest by bytes', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1), noop(3, 1)]);
    expect(s.entries(1, 4, 0).length).toBe(1);
    expect(s.entries(1, 4, 48).length).toBe(2);
    expect(s.entries(1, 4, 1_000).length).toBe(3);
    expect(isInvariantViolation(thrown(() => s.entries(0, 2, 100)))).toBe(true);
    expect(isInvariantViolation(thrown(() => s.entries(2, 5, 100)))).toBe(true);
  });

  it('compacts into a snapshot and keeps the entries after it', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1), noop(3, 2)]);
    s.createSnapshot({ index: 2, term: 1, membership: MEMBERSHIP }, new Uint8Array([7]));
    expect([s.firstIndex(), s.lastIndex(), s.term(2), s.term(1)]).toEqual([3, 3, 1, undefined]);
    expect(s.snapshot().data).toEqual(new Uint8Array([7]));
  });

  it('keeps a tail of entries up to the snapshot index, for followers a little behind', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1), noop(3, 1), noop(4, 2), noop(5, 2)]);
    s.createSnapshot({ index: 4, term: 2, membership: MEMBERSHIP }, new Uint8Array([4]), 2);
    expect([s.firstIndex(), s.lastIndex(), s.term(2), s.term(3), s.term(4)]).toEqual([3, 5, undefined, 1, 2]);
    expect(s.entries(3, 6, 1_000).map((e) => e.index)).toEqual([3, 4, 5]);
    // A later snapshot with a longer tail cannot bring back entries already dropped.
    s.createSnapshot({ index: 5, term: 2, membership: MEMBERSHIP }, new Uint8Array([5]), 10);
    expect([s.firstIndex(), s.lastIndex()]).toEqual([3, 5]);
    s.append([noop(6, 3)]);
    expect(s.allEntries().map((e) => e.index)).toEqual([3, 4, 5, 6]);
  });

  it('bounds the tail kept before the snapshot index by bytes as well as by count', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    // Each command entry is 24 bytes of overhead plus its data: 124 bytes here.
    s.append([1, 2, 3, 4, 5, 6].map((index) => cmd(index, 1, 100)));
    s.createSnapshot({ index: 5, term: 1, membership: MEMBERSHIP }, new Uint8Array(0), 4, 300);
    // Four entries were allowed by count; two (248 bytes) fit in 300 bytes, a third would not.
    expect([s.firstIndex(), s.lastIndex()]).toEqual([4, 6]);
    expect(s.bytes()).toBe(3 * 124);
    // Below one entry's size, no tail at all.
    s.createSnapshot({ index: 6, term: 1, membership: MEMBERSHIP }, new Uint8Array(0), 4, 100);
    expect([s.firstIndex(), s.lastIndex(), s.bytes()]).toEqual([7, 6, 0]);
  });

  it('keeps the byte size of its log across appends, replaced tails, snapshots and installs', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    const total = (): number => s.allEntries().reduce((sum, e) => sum + entrySizeBytes(e), 0);
    s.append([cmd(1, 1, 10), cmd(2, 1, 20), cmd(3, 1, 30), noop(4, 1)]);
    expect(s.bytes()).toBe(total());
    s.append([cmd(3, 2, 5)]); // replaces 3 and 4
    expect(s.bytes()).toBe(total());
    s.append([cmd(4, 2, 50), cmd(5, 2, 60)]);
    s.createSnapshot({ index: 4, term: 2, membership: MEMBERSHIP }, new Uint8Array(0), 1);
    expect(s.allEntries().map((e) => e.index)).toEqual([4, 5]);
    expect(s.bytes()).toBe(total());
    s.installSnapshot({ meta: { index: 4, term: 2, membership: MEMBERSHIP }, data: new Uint8Array(0) });
    expect([s.bytes(), total()]).toEqual([84, 84]);
    s.installSnapshot({ meta: { index: 9, term: 3, membership: MEMBERSHIP }, data: new Uint8Array(0) });
    expect(s.bytes()).toBe(0);
  });

  it('refuses an append into the tail kept before the snapshot index', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1), noop(3, 1)]);
    s.createSnapshot({ index: 3, term: 1, membership: MEMBERSHIP }, new Uint8Array(0), 2);
    expect(isInvariantViolation(thrown(() => s.append([noop(3, 2)])))).toBe(true);
    expect(isInvariantViolation(thrown(() => s.append([noop(2, 2)])))).toBe(true);
  });

  it('drops the tail under an installed snapshot, matching or not', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1), noop(3, 1), noop(4, 1)]);
    s.createSnapshot({ index: 2, term: 1, membership: MEMBERSHIP }, new Uint8Array(0), 2);
    s.installSnapshot({ meta: { index: 3, term: 1, membership: MEMBERSHIP }, data: new Uint8Array(0) });
    expect([s.firstIndex(), s.lastIndex()]).toEqual([4, 4]);
  });

  it('refuses a snapshot whose term differs from the log or that is out of range', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1)]);
    const meta = (index: number, term: number) => ({ index, term, membership: MEMBERSHIP });
    expect(isInvariantViolation(thrown(() => s.createSnapshot(meta(2, 5), new Uint8Array(0))))).toBe(true);
    expect(isInvariantViolation(thrown(() => s.createSnapshot(meta(3, 1), new Uint8Array(0))))).toBe(true);
  });

  it('keeps the entries after an installed snapshot whose last entry it holds', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1), noop(3, 1)]);
    s.installSnapshot({ meta: { index: 2, term: 1, membership: MEMBERSHIP }, data: new Uint8Array(0) });
    expect(s.allEntries().map((e) => e.index)).toEqual([3]);
  });

  it('discards the log under an installed snapshot it does not match', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.append([noop(1, 1), noop(2, 1), noop(3, 1)]);
    s.installSnapshot({ meta: { index: 2, term: 2, membership: MEMBERSHIP }, data: new Uint8Array(0) });
    expect([s.firstIndex(), s.lastIndex(), s.allEntries().length]).toEqual([3, 2, 0]);
    s.installSnapshot({ meta: { index: 9, term: 3, membership: MEMBERSHIP }, data: new Uint8Array(0) });
    expect([s.firstIndex(), s.lastIndex(), s.term(9)]).toEqual([10, 9, 3]);
  });

  it('refuses an installed snapshot older than its own', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.installSnapshot({ meta: { index: 5, term: 1, membership: MEMBERSHIP }, data: new Uint8Array(0) });
    const older = { meta: { index: 4, term: 1, membership: MEMBERSHIP }, data: new Uint8Array(0) };
    expect(isInvariantViolation(thrown(() => s.installSnapshot(older)))).toBe(true);
  });

  it('records the hard state it is given', () => {
    const s = MemoryStorage.bootstrap(MEMBERSHIP);
    s.setHardState({ term: 3, vote: 'n1', commit: 0 });
    expect(s.initialHardState()).toEqual({ term: 3, vote: 'n1', commit: 0 });
  });
});
