/** entryBytes is the deterministic payload of the crash test's entry at (index, term). */
export function entryBytes(index: number, term: number): Buffer {
  return Buffer.from(`entry-${index}-term-${term}-`.padEnd(64, 'x'));
}

/** CRASH_CHUNK_BYTES is the crash test's snapshot chunk size: each snapshot is several chunks, so kills land between them. */
export const CRASH_CHUNK_BYTES = 32;

/** snapshotBytes is the deterministic data of the crash test's snapshot at `index` (nine chunks). */
export function snapshotBytes(index: number): Buffer {
  return Buffer.from(`snapshot-${index}-`.repeat(40).slice(0, 8 * CRASH_CHUNK_BYTES + 5));
}
