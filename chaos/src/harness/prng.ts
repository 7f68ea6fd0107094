import { Mulberry32 } from '@omnirelay/raft';

/**
 * Prng is the harness's seeded pseudo-random source (the Raft core's Mulberry32): the fault
 * schedule, the proxies' jitter and the runner's choices all come from one seed, so a run replays.
 */
export class Prng {
  private readonly source: Mulberry32;

  constructor(seed: number) {
    this.source = new Mulberry32(seed);
  }

  /** next returns a float in [0, 1). */
  next(): number {
    return this.source.nextUint32() / 4294967296;
  }

  /** int returns an integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** pick returns one element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new RangeError('pick needs a non-empty list');
    return item;
  }

  /** fork returns an independent generator derived from this one (one per proxy, per worker). */
  fork(): Prng {
    return new Prng(this.int(0, 0xffffffff));
  }
}
