import {
  SCOPE_NAME_BYTES_MAX,
  isLeadershipError,
  isValidScopeName,
  shardScope,
  validateScopeName,
} from '@omnirelay/leadership-fsm';

describe('scope names', () => {
  it.each([
    'global-control',
    'shard/payments/17',
    'shard/a.b/c-d_x',
    'role/leader',
    '0',
    'a'.repeat(SCOPE_NAME_BYTES_MAX),
    'jobs/nightly.v2/x/y',
  ])('accepts %s', (name) => {
    expect(isValidScopeName(name)).toBe(true);
  });

  it.each([
    ['an empty name', ''],
    ['a leading underscore', '_x'],
    ['a leading dash', '-x'],
    ['an overlong name', 'a'.repeat(SCOPE_NAME_BYTES_MAX + 1)],
    ['upper case', 'Global'],
    ['a leading dot', '.hidden'],
    ['a leading slash', '/x'],
    ['a space', 'a b'],
    ['non-ASCII', 'café'],
    ['an empty segment', 'a//b'],
    ['a trailing slash', 'a/b/'],
    ['a dot segment', 'a/./b'],
    ['a dot-dot segment', 'a/../b'],
    ['a shard scope without a shard id', 'shard/ns'],
    ['a shard scope with an extra segment', 'shard/ns/1/2'],
  ])('refuses %s with INVALID_SCOPE saying what is allowed', (_title, name) => {
    let caught: unknown;
    try {
      validateScopeName(name);
    } catch (e: unknown) {
      caught = e;
    }
    expect(isLeadershipError(caught, 'INVALID_SCOPE')).toBe(true);
    expect((caught as Error).message).toContain(`1..${SCOPE_NAME_BYTES_MAX} bytes`);
  });

  it('builds a shard scope and refuses parts that would break it', () => {
    expect(shardScope('ns', '42')).toBe('shard/ns/42');
    expect(() => shardScope('ns/x', '42')).toThrow('shard scope');
    expect(() => shardScope('NS', '42')).toThrow('outside the allowed set');
  });
});
