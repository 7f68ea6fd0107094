import { LeadershipError } from './errors';
import { SCOPE_NAME_BYTES_MAX } from './limits';

/** GLOBAL_CONTROL_SCOPE is the scope of OmniRelay's global control role. */
export const GLOBAL_CONTROL_SCOPE = 'global-control';

/** SHARD_SCOPE_PREFIX starts every shard scope: `shard/<namespace>/<shardId>`. */
export const SHARD_SCOPE_PREFIX = 'shard/';

/**
 * SCOPE_NAME_RULES is the rule every scope name follows, as the INVALID_SCOPE message states it.
 * Names are lowercase ASCII so that they sort the same as bytes and as UTF-16, fit in URLs and
 * metric labels unescaped, and cannot be two spellings of one scope.
 */
export const SCOPE_NAME_RULES =
  `a scope name is 1..${SCOPE_NAME_BYTES_MAX} bytes: a first character from [a-z0-9], then [a-z0-9._/-]; ` +
  `no "//", no trailing "/", no "." or ".." segment; a name starting "shard/" is exactly "shard/<namespace>/<shardId>"`;

function isNameChar(code: number, first: boolean): boolean {
  const alphanumeric = (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39);
  // [a-z0-9] anywhere; '.', '_', '/' and '-' after the first character.
  return alphanumeric || (!first && (code === 0x2e || code === 0x5f || code === 0x2f || code === 0x2d));
}

/**
 * scopeNameProblem returns why `name` is not a valid scope name, or null when it is. It is the
 * one place the rules live; `validateScopeName` and `isValidScopeName` wrap it. One pass over
 * the characters, no allocation: it runs for every lease of every renew batch.
 */
export function scopeNameProblem(name: string): string | null {
  const length = name.length;
  if (length === 0) {
    return 'it is empty';
  }
  if (length > SCOPE_NAME_BYTES_MAX) {
    return `it is ${length} bytes long`;
  }
  let segments = 1;
  let segmentStart = 0;
  for (let i = 0; i <= length; i++) {
    const code = i < length ? name.charCodeAt(i) : 0x2f;
    if (i < length && !isNameChar(code, i === 0)) {
      return 'it has a character outside the allowed set';
    }
    if (code !== 0x2f) {
      continue;
    }
    const segmentLength = i - segmentStart;
    if (segmentLength === 0) {
      return i === length ? 'it ends with "/"' : 'it has an empty segment ("//")';
    }
    if (
      name.charCodeAt(segmentStart) === 0x2e &&
      (segmentLength === 1 || (segmentLength === 2 && name.charCodeAt(segmentStart + 1) === 0x2e))
    ) {
      return 'it has a "." or ".." segment';
    }
    if (i < length) {
      segments++;
    }
    segmentStart = i + 1;
  }
  if (segments !== 3 && name.startsWith(SHARD_SCOPE_PREFIX)) {
    return `a shard scope has ${segments - 1} segment(s) after "shard/", not namespace and shardId`;
  }
  return null;
}

/** isValidScopeName tells whether `name` follows SCOPE_NAME_RULES. */
export function isValidScopeName(name: string): boolean {
  return scopeNameProblem(name) === null;
}

/**
 * validateScopeName throws a LeadershipError with code INVALID_SCOPE, whose message says what
 * is wrong and what is allowed, unless `name` follows SCOPE_NAME_RULES.
 */
export function validateScopeName(name: string): void {
  const problem = scopeNameProblem(name);
  if (problem !== null) {
    throw new LeadershipError(
      'INVALID_SCOPE',
      `invalid scope ${JSON.stringify(name.slice(0, SCOPE_NAME_BYTES_MAX + 1))}: ${problem}; ${SCOPE_NAME_RULES}`,
      { scope: name.slice(0, SCOPE_NAME_BYTES_MAX + 1), limit: SCOPE_NAME_BYTES_MAX },
    );
  }
}

/**
 * shardScope returns the scope name of shard `shardId` in `namespace`, `shard/<namespace>/<shardId>`,
 * and throws INVALID_SCOPE when the result is not a valid name (a part with "/" or bad characters).
 */
export function shardScope(namespace: string, shardId: string): string {
  const name = `${SHARD_SCOPE_PREFIX}${namespace}/${shardId}`;
  validateScopeName(name);
  return name;
}
