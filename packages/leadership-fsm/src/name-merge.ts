import { assert } from './assert';

/**
 * NameMerge walks the names of several runs as one sorted sequence, one name per `next` call.
 * Each run must be sorted in code-unit order (the order of `<` and of `Array.prototype.sort`)
 * and no name may be in two runs: `next` asserts that every name it returns is above the one
 * before. A binary heap orders the runs by their next name, so a name costs O(log r)
 * comparisons for r runs, and nothing is merged ahead of need.
 *
 * A snapshot capture merges the state's sorted scope names with the names created since, sorted
 * a run at a time, as it encodes them: merging 100,000 names with 30,000 new ones (and sorting
 * those) in the capture's one turn took 60–90 ms (bench/storage/snapshot-stalls.ts).
 */
export class NameMerge {
  /** taken[r] is how many names of run r `next` returned. */
  private readonly taken: number[];
  /** heapRuns holds the runs with names left, a binary min-heap by their next name; heapNames those names. */
  private readonly heapRuns: number[] = [];
  private readonly heapNames: string[] = [];
  private last: string | undefined;

  constructor(private readonly runs: readonly (readonly string[])[]) {
    this.taken = runs.map(() => 0);
    runs.forEach((run, r) => {
      if (run.length > 0) this.push(r, run[0]!);
    });
  }

  /** peek is the name `next` returns next, undefined once every name was returned. */
  peek(): string | undefined {
    return this.heapNames[0];
  }

  /** next returns the least name not returned yet, undefined once none is left. */
  next(): string | undefined {
    const name = this.heapNames[0];
    if (name === undefined) return undefined;
    const last = this.last;
    assert(
      last === undefined || name > last,
      () => `names out of order or repeated: ${JSON.stringify(name)} after ${JSON.stringify(last)}`,
    );
    this.last = name;
    const r = this.heapRuns[0]!;
    const run = this.runs[r]!;
    const taken = this.taken[r]! + 1;
    this.taken[r] = taken;
    if (taken < run.length) {
      this.siftDown(r, run[taken]!);
    } else {
      const movedRun = this.heapRuns.pop()!;
      const movedName = this.heapNames.pop()!;
      if (this.heapRuns.length > 0) this.siftDown(movedRun, movedName);
    }
    return name;
  }

  /** has tells whether `name` is in one of the runs, returned or not (a binary search of each). */
  has(name: string): boolean {
    return this.runs.some((run) => sortedIncludes(run, name));
  }

  private push(r: number, name: string): void {
    const runs = this.heapRuns;
    const names = this.heapNames;
    let at = runs.length;
    runs.push(r);
    names.push(name);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (names[parent]! <= name) break;
      runs[at] = runs[parent]!;
      names[at] = names[parent]!;
      at = parent;
    }
    runs[at] = r;
    names[at] = name;
  }

  /** siftDown puts run `r`, whose next name is `name`, at the heap's top and lets it sink to its place. */
  private siftDown(r: number, name: string): void {
    const runs = this.heapRuns;
    const names = this.heapNames;
    const size = runs.length;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && names[child + 1]! < names[child]!) child++;
      if (name <= names[child]!) break;
      runs[at] = runs[child]!;
      names[at] = names[child]!;
      at = child;
    }
    runs[at] = r;
    names[at] = name;
  }
}

/** sortedIncludes tells whether the sorted `names` hold `name` (a binary search). */
export function sortedIncludes(names: readonly string[], name: string): boolean {
  return names[firstAtOrAfter(names, name)] === name;
}

/** firstAtOrAfter is the place of the first of the sorted `names` at or after `key` (`names.length` when none). */
export function firstAtOrAfter(names: readonly string[], key: string): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (names[middle]! < key) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}
