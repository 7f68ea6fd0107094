import type { Entry } from '../../src/core/index';
import { MemoryStorage, RaftLog, isInvariantViolation } from '../../src/core/index';

const MEMBERSHIP = { voters: ['n1', 'n2', 'n3'], learners: [] };

function noop(index: number, term: number): Entry {
  return { kind: 'noop', index, term };
}

/** entriesOf builds noops from `terms`, the first at index `first`. */
function entriesOf(first: number, terms: readonly number[]): Entry[] {
  return terms.map((term, i) => noop(first + i, term));
}

/** durableLog returns a storage holding entries with `terms` from index 1, and a log over it. */
function durableLog(terms: readonly number[], commit = 0): { storage: MemoryStorage; log: RaftLog } {
  const storage = MemoryStorage.bootstrap(MEMBERSHIP);
  storage.append(entriesOf(1, terms));
  storage.setHardState({ term: terms[terms.length - 1] ?? 0, vote: '', commit });
  return { storage, log: new RaftLog(storage, 0, () => undefined) };
}

function terms(log: RaftLog): number[] {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i) ?? -1);
  return out;
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('RaftLog', () => {
  it('keeps every entry when an append carries only entries it already has', () => {
    const { log } = durableLog([1, 1, 2, 2]);
    expect(log.maybeAppend(1, 1, 0, entriesOf(2, [1, 2]))).toBe(3);
    expect(terms(log)).toEqual([1, 1, 2, 2]);
    expect(log.pendingEntries()).toEqual([]);
  });

  it('truncates only from the first conflicting entry', () => {
    const { log } = durableLog([1, 1, 2, 2, 2]);
    expect(log.maybeAppend(1, 1, 0, entriesOf(2, [1, 2, 3]))).toBe(4);
    expect(terms(log)).toEqual([1, 1, 2, 3]);
    expect(log.pendingEntries().map((e) => e.index)).toEqual([4]);
  });

  it('appends what is new after the entries it already has', () => {
    const { log } = durableLog([1, 1]);
    expect(log.maybeAppend(1, 1, 0, entriesOf(2, [1, 2, 2]))).toBe(4);
    expect(terms(log)).toEqual([1, 1, 2, 2]);
    expect(log.pendingEntries().map((e) => e.index)).toEqual([3, 4]);
  });

  it('rejects an append whose previous entry does not match', () => {
    const { log } = durableLog([1, 1, 2]);
    expect(log.maybeAppend(3, 3, 0, entriesOf(4, [3]))).toBeUndefined();
    expect(log.maybeAppend(9, 2, 0, [])).toBeUndefined();
    expect(terms(log)).toEqual([1, 1, 2]);
  });

  it('commits only up to the last entry the append covers', () => {
    const { log } = durableLog([1, 1, 1, 1, 1]);
    log.maybeAppend(1, 1, 5, entriesOf(2, [1]));
    expect(log.committed).toBe(2);
  });

  it('never moves commit back', () => {
    const { log } = durableLog([1, 1, 1, 1], 3);
    expect(log.committed).toBe(3);
    log.commitTo(1);
    log.maybeAppend(1, 1, 1, []);
    expect(log.committed).toBe(3);
  });

  it('refuses to commit beyond its last index', () => {
    const { log } = durableLog([1, 1]);
    expect(isInvariantViolation(thrown(() => log.commitTo(3)))).toBe(true);
  });

  it('refuses to overwrite a committed entry', () => {
    const { log } = durableLog([1, 1, 1], 2);
    expect(isInvariantViolation(thrown(() => log.maybeAppend(1, 1, 0, entriesOf(2, [2]))))).toBe(true);
  });

  it('judges up-to-dateness by last term, then by length', () => {
    const { log } = durableLog([1, 2, 2]);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
  });

  it('finds the last index at or below a term for the conflict hint', () => {
    const { log } = durableLog([1, 1, 2, 2, 4, 4]);
    expect(log.findConflictByTerm(6, 3)).toBe(4);
    expect(log.findConflictByTerm(6, 1)).toBe(2);
    expect(log.findConflictByTerm(6, 0)).toBe(0);
    expect(log.findConflictByTerm(99, 4)).toBe(6);
  });

  it('marks entries durable with stableTo', () => {
    const { log } = durableLog([1]);
    log.append(entriesOf(2, [1, 1]));
    log.stableTo(3, 1);
    expect(log.pendingEntries()).toEqual([]);
    expect(log.stableLastIndex()).toBe(3);
  });

  it('does not mark a replaced tail durable with stableTo', () => {
    const { log } = durableLog([1]);
    log.append(entriesOf(2, [1, 1, 1]));
    // Before the write of 2..4 at term 1 completed, 3 and 4 were replaced by term 2 entries.
    log.append(entriesOf(3, [2, 2]));
    log.stableTo(4, 1);
    expect(log.pendingEntries().map((e) => `${e.index}/${e.term}`)).toEqual(['2/1', '3/2', '4/2']);
    log.stableTo(4, 2);
    expect(log.pendingEntries()).toEqual([]);
  });

  it('ignores stableTo for an index beyond the tail', () => {
    const { log } = durableLog([1]);
    log.append(entriesOf(2, [1]));
    log.stableTo(5, 1);
    expect(log.pendingEntries().length).toBe(1);
  });

  it('overwrites part of the durable log from an earlier index', () => {
    const { log } = durableLog([1, 1, 1, 1]);
    log.append(entriesOf(3, [2]));
    expect(terms(log)).toEqual([1, 1, 2]);
    expect(log.stableLastIndex()).toBe(2);
  });

  it('returns undefined for compacted entries and caps a batch by bytes', () => {
    const storage = MemoryStorage.bootstrap(MEMBERSHIP);
    storage.append(entriesOf(1, [1, 1, 1, 1, 1]));
    storage.setHardState({ term: 1, vote: '', commit: 5 });
    storage.createSnapshot({ index: 2, term: 1, membership: MEMBERSHIP }, new Uint8Array(0));
    const log = new RaftLog(storage, 0, () => undefined);
    expect(log.entries(2, 4, 1000)).toBeUndefined();
    expect(log.entries(3, 6, 1)?.map((e) => e.index)).toEqual([3]);
    expect(log.entries(3, 6, 1000)?.map((e) => e.index)).toEqual([3, 4, 5]);
    expect(log.term(2)).toBe(1);
    expect(log.term(1)).toBeUndefined();
  });

  it('hands out committed entries once, in order, and applies forward only', () => {
    const { log } = durableLog([1, 1, 1], 2);
    expect(log.nextCommittedEntries(1000).map((e) => e.index)).toEqual([1, 2]);
    log.appliedTo(2);
    expect(log.hasNextCommittedEntries()).toBe(false);
    expect(isInvariantViolation(thrown(() => log.appliedTo(1)))).toBe(true);
    expect(isInvariantViolation(thrown(() => log.appliedTo(3)))).toBe(true);
  });

  it('restores a snapshot, which then covers the log until it is durable', () => {
    const { log } = durableLog([1, 1], 1);
    log.restore({ meta: { index: 10, term: 3, membership: MEMBERSHIP }, data: new Uint8Array(0) });
    expect([log.firstIndex(), log.lastIndex(), log.committed, log.lastTerm()]).toEqual([11, 10, 10, 3]);
    expect(log.hasNextCommittedEntries()).toBe(false);
    log.stableSnapshotTo(10);
    expect(log.pendingSnapshot()).toBeUndefined();
  });

  it('refuses to restore a snapshot that is not beyond its commit index', () => {
    const { log } = durableLog([1, 1, 1], 3);
    const snapshot = { meta: { index: 2, term: 1, membership: MEMBERSHIP }, data: new Uint8Array(0) };
    expect(isInvariantViolation(thrown(() => log.restore(snapshot)))).toBe(true);
  });

  it('tells the core of every append, including the replacing ones', () => {
    const storage = MemoryStorage.bootstrap(MEMBERSHIP);
    const seen: number[][] = [];
    const log = new RaftLog(storage, 0, (entries) => seen.push(entries.map((e) => e.index)));
    log.append(entriesOf(1, [1, 1]));
    log.maybeAppend(0, 0, 0, entriesOf(1, [1, 2]));
    expect(seen).toEqual([[1, 2], [2]]);
  });
});
