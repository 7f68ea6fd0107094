import { LeadershipError } from './errors';
import { utf8ByteLength } from './text';

/**
 * The field readers every command parser shares: each checks one field of a decoded msgpack map
 * and throws a LeadershipError that names it.
 */

/** Fields is a decoded command (or part of one) as a map of named fields. */
export type Fields = Readonly<Record<string, unknown>>;

/** malformed is MALFORMED_COMMAND with `message`, naming `field` when given. */
export function malformed(message: string, field?: string): LeadershipError {
  return new LeadershipError('MALFORMED_COMMAND', message, field === undefined ? {} : { field });
}

/** asRecord returns `value` as Fields, or throws MALFORMED_COMMAND unless it is a plain map. */
export function asRecord(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
    throw malformed(`${what} must be a map of named fields`);
  }
  return value as Fields;
}

/** onlyFields throws MALFORMED_COMMAND for a field of `record` that `allowed` does not list. */
export function onlyFields(record: Fields, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw malformed(
        `${what} has an unknown field ${JSON.stringify(key)}; allowed: ${allowed.join(', ')}`,
        key,
      );
    }
  }
}

/** stringField returns `record[field]`, or throws MALFORMED_COMMAND unless it is a string. */
export function stringField(record: Fields, field: string): string {
  const value = record[field];
  if (typeof value !== 'string') {
    throw malformed(`${field} must be a string`, field);
  }
  return value;
}

/** integerField returns `record[field]`, or throws MALFORMED_COMMAND unless it is a safe integer. */
export function integerField(record: Fields, field: string): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw malformed(`${field} must be a safe integer`, field);
  }
  return value;
}

/** rangeField is integerField within `min..max` (INVALID_ARGUMENT outside). */
export function rangeField(record: Fields, field: string, min: number, max: number): number {
  const value = integerField(record, field);
  if (value < min || value > max) {
    throw new LeadershipError('INVALID_ARGUMENT', `${field} is ${value}; allowed: ${min}..${max}`, { field });
  }
  return value;
}

/**
 * textField is stringField matching `pattern` within `bytesMax` UTF-8 bytes (INVALID_ARGUMENT
 * otherwise, with `rules` as the message).
 */
export function textField(
  record: Fields,
  field: string,
  pattern: RegExp,
  bytesMax: number,
  rules: string,
): string {
  const value = stringField(record, field);
  if (utf8ByteLength(value) > bytesMax || !pattern.test(value)) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `${field} ${JSON.stringify(value.slice(0, 64))}: ${rules}`,
      {
        field,
        limit: bytesMax,
      },
    );
  }
  return value;
}
