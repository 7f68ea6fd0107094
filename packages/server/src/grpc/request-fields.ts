import { FENCE_TOKEN_MAX } from '@omnirelay/leadership-fsm';
import { ServerError } from '../errors/error-table';
import { isMalformedRequest, malformedReason } from './malformed';

/**
 * The readers below check every field the edge takes from a decoded request. proto-loader hands
 * out camelCase keys, 64-bit integers as decimal strings and unset `optional` fields as
 * undefined; errors name the field as the .proto spells it (snake_case).
 */
export type Fields = Readonly<Record<string, unknown>>;

const UINT64_DECIMAL = /^(0|[1-9]\d{0,19})$/;

function wireName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function invalid(field: string, what: string): ServerError {
  return new ServerError('INVALID_ARGUMENT', `${wireName(field)} ${what}`, { field: wireName(field) });
}

/** requestFields checks that a request decoded into a message, naming the method when it did not. */
export function requestFields(request: unknown, method: string): Fields {
  if (isMalformedRequest(request)) {
    throw new ServerError(
      'INVALID_ARGUMENT',
      `the ${method} request is not a valid protobuf message (${malformedReason(request)})`,
    );
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new ServerError('INVALID_ARGUMENT', `the ${method} request must be a message`);
  }
  return request as Fields;
}

/** stringField reads a string field (proto3: empty when unset). */
export function stringField(o: Fields, field: string): string {
  const v = o[field];
  if (typeof v !== 'string') throw invalid(field, 'must be a string');
  return v;
}

/** optionalStringField reads an `optional string` field: undefined when unset. */
export function optionalStringField(o: Fields, field: string): string | undefined {
  return o[field] === undefined || o[field] === null ? undefined : stringField(o, field);
}

/** boolField reads a bool field. */
export function boolField(o: Fields, field: string): boolean {
  const v = o[field];
  if (typeof v !== 'boolean') throw invalid(field, 'must be a bool');
  return v;
}

/** int32Field reads a uint32 (or int32 when `min` is negative) field. */
export function int32Field(o: Fields, field: string, min = 0): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw invalid(field, `must be an integer ≥ ${min}`);
  }
  return v;
}

/** optionalUint32Field reads an `optional uint32` field: undefined when unset. */
export function optionalUint32Field(o: Fields, field: string): number | undefined {
  return o[field] === undefined || o[field] === null ? undefined : int32Field(o, field);
}

/** revisionField reads a uint64 revision (a decimal string) as a safe integer. */
export function revisionField(o: Fields, field: string): number {
  const v = o[field];
  const n = typeof v === 'string' && UINT64_DECIMAL.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw invalid(field, `must be a revision in 0..${Number.MAX_SAFE_INTEGER}`);
  return n;
}

/** SAFE_DECIMAL_DIGITS_MAX is the most decimal digits whose every value is a safe integer. */
const SAFE_DECIMAL_DIGITS_MAX = 15;

/**
 * safeDecimal reads a canonical decimal of at most SAFE_DECIMAL_DIGITS_MAX digits (no sign, no
 * leading zero but in "0"), as UINT64_DECIMAL accepts them; -1 for anything else, "" included.
 */
function safeDecimal(text: string): number {
  const length = text.length;
  if (length === 0 || (length > 1 && text.charCodeAt(0) === 0x30)) return -1;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

/**
 * parseFenceToken reads a fence token: a uint64 as a decimal string (or a bigint, as KeepAlive's
 * decoder reads it), in 1..2^64-1 (0 is never a fence; an unset field decodes as "0", or 0n, and
 * is refused here). Anything else is INVALID_ARGUMENT.
 */
export function parseFenceToken(value: unknown, field = 'fenceToken'): bigint {
  if (typeof value === 'bigint') {
    // KeepAlive's own decoder reads fences as bigints (keep-alive-codec.ts).
    if (value >= 1n && value <= FENCE_TOKEN_MAX) return value;
  } else if (typeof value === 'string' && value.length <= SAFE_DECIMAL_DIGITS_MAX) {
    // Every KeepAlive lease comes through here: a short token (any Raft index below 10^15) is read
    // digit by digit as a number, with no regular expression and no BigInt parse of the string.
    const n = safeDecimal(value);
    if (n >= 1) return BigInt(n);
  } else if (typeof value === 'string' && UINT64_DECIMAL.test(value)) {
    const n = BigInt(value);
    if (n >= 1n && n <= FENCE_TOKEN_MAX) return n;
  }
  throw invalid(field, 'must be a fence token: a uint64 in 1..18446744073709551615, as a decimal string');
}

/** fenceTokenField reads a required fence token field (see parseFenceToken). */
export function fenceTokenField(o: Fields, field: string): bigint {
  return parseFenceToken(o[field], field);
}

/** optionalFenceTokenField reads an `optional uint64` fence token: undefined when unset. */
export function optionalFenceTokenField(o: Fields, field: string): bigint | undefined {
  return o[field] === undefined || o[field] === null ? undefined : parseFenceToken(o[field], field);
}

/** arrayField reads a repeated field. */
export function arrayField(o: Fields, field: string): readonly unknown[] {
  const v = o[field];
  if (!Array.isArray(v)) throw invalid(field, 'must be a list');
  return v;
}
