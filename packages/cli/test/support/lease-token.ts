/**
 * LEASE_TOKEN_KEYS are exactly the fields of a lease in the CLI's JSON output, in the order it
 * prints them: the DISC-002 names (leaderId, scope, term, fenceToken, expiresAt) first.
 */
export const LEASE_TOKEN_KEYS: readonly string[] = [
  'leaderId',
  'scope',
  'term',
  'fenceToken',
  'expiresAt',
].concat(['expiresAtMs', 'ttlMs', 'metadata', 'grantedAtMs', 'lastRenewedAtMs', 'revision']);

/**
 * expectLeaseToken checks that `value` is a lease as `-o json` prints it: exactly
 * LEASE_TOKEN_KEYS in that order, the fence token and term as decimal strings, and `expiresAt` an RFC 3339
 * UTC time that parses to `expiresAtMs`. It returns the lease for further checks.
 */
export function expectLeaseToken(value: unknown): Record<string, unknown> {
  const l = value as Record<string, unknown>;
  expect(Object.keys(l)).toEqual(LEASE_TOKEN_KEYS);
  expect(l['fenceToken']).toMatch(/^\d+$/);
  expect(l['term']).toMatch(/^\d+$/);
  expect(l['expiresAt']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  expect(new Date(l['expiresAt'] as string).getTime()).toBe(l['expiresAtMs']);
  return l;
}
