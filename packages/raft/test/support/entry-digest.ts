import type { Entry } from '../../src/core/index';

const FNV_OFFSET = 0x811c9dc5;

/**
 * fnvMultiply multiplies by the FNV prime 2^24 + 2^8 + 0x93 modulo 2^32 with shifts and adds:
 * Math.imul is slow inside Jest's VM contexts, and this runs for every byte the checkers hash.
 */
function fnvMultiply(h: number): number {
  return (h + (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24)) >>> 0;
}

/** fnv1aBytes returns the 32-bit FNV-1a hash of `bytes`, continuing from `seed` (the FNV offset when omitted). */
export function fnv1aBytes(bytes: Uint8Array, seed: number = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h = fnvMultiply(h ^ bytes[i]!);
  }
  return h;
}

/** fnv1aNumbers folds 32-bit views of `values` into the FNV-1a hash `seed`; values are safe integers. */
export function fnv1aNumbers(seed: number, ...values: readonly number[]): number {
  let h = seed >>> 0;
  for (const v of values) {
    // Fold the high and low halves so that indexes above 2^32 still change the hash.
    const high = Math.floor(v / 4294967296) >>> 0;
    const low = v >>> 0;
    h = fnvMultiply(h ^ low);
    h = fnvMultiply(h ^ high);
  }
  return h;
}

function fnv1aString(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h = fnvMultiply(h ^ s.charCodeAt(i));
  }
  return h;
}

/**
 * entryDigest returns a 32-bit digest of an entry's content and term (not its index), so two
 * entries with equal digests at one index are, but for a hash collision, the same entry. The
 * checkers compare digests instead of bytes to stay cheap after every step.
 */
export function entryDigest(entry: Entry): number {
  // Entries are immutable and the simulator hands the same objects from node to node, so each
  // is hashed once.
  const cached = digestCache.get(entry);
  if (cached !== undefined) return cached;
  const digest = computeEntryDigest(entry);
  digestCache.set(entry, digest);
  return digest;
}

const digestCache = new WeakMap<Entry, number>();

function computeEntryDigest(entry: Entry): number {
  const base = fnv1aNumbers(FNV_OFFSET, entry.term);
  switch (entry.kind) {
    case 'command':
      return fnv1aBytes(entry.data, fnv1aString('command', base));
    case 'noop':
      return fnv1aString('noop', base);
    case 'config': {
      const m = entry.membership;
      const text = `${entry.change.type}:${entry.change.node}|${m.voters.join(',')}|${m.learners.join(',')}`;
      return fnv1aString(text, fnv1aString('config', base));
    }
  }
}

/** chainDigest extends the running digest of an applied sequence by one applied entry. */
export function chainDigest(previous: number, index: number, term: number, digest: number): number {
  return fnv1aNumbers(previous, index, term, digest);
}
