/**
 * Rng is the only source of randomness the core has (election jitter, campaign delays). It is
 * injected so that a seeded simulator reproduces every schedule exactly.
 */
export interface Rng {
  /** intBelow returns an integer uniformly drawn from [0, bound); bound is a positive safe integer. */
  intBelow(bound: number): number;
}

/**
 * Mulberry32 is a small, fast, seedable 32-bit PRNG. It is good enough for election jitter and
 * simulation schedules (not for cryptography).
 */
export class Mulberry32 implements Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** nextUint32 returns the next 32-bit unsigned value. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  intBelow(bound: number): number {
    return Math.floor((this.nextUint32() / 4294967296) * bound);
  }
}
