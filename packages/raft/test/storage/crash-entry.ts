/** entryBytes is the deterministic payload of the crash test's entry at (index, term). */
export function entryBytes(index: number, term: number): Buffer {
  return Buffer.from(`entry-${index}-term-${term}-`.padEnd(64, 'x'));
}
