/**
 * Prng is the harness's seeded pseudo-random source (mulberry32): the fault schedule, the
 * proxies' jitter and the workload's choices all come from one seed, so a run replays.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** next returns a float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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
