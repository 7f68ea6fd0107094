import { ServerError } from '../errors/error-table';

/**
 * requireObject checks that a JSON body (or item) is an object with no field outside `allowed`:
 * a misspelt field is refused, not silently ignored. A field named in `renamed` (old name → new
 * name) is refused with a message that gives the new name, so a client of an older API learns
 * what to send instead.
 */
export function requireObject(
  body: unknown,
  allowed: readonly string[],
  renamed: Readonly<Record<string, string>> = {},
): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ServerError('INVALID_ARGUMENT', 'the body must be a JSON object');
  }
  const old = Object.keys(body).find((k) => Object.hasOwn(renamed, k));
  if (old !== undefined) {
    throw new ServerError(
      'INVALID_ARGUMENT',
      `field ${JSON.stringify(old)} is now called ${JSON.stringify(renamed[old])}; send ${JSON.stringify(renamed[old])} instead`,
      { field: old },
    );
  }
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new ServerError(
      'INVALID_ARGUMENT',
      `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; allowed: ${allowed.join(', ')}`,
      {
        field: unknown[0]!,
      },
    );
  }
  return body as Record<string, unknown>;
}

/** stringField reads a required string field. */
export function stringField(o: Record<string, unknown>, name: string): string {
  const v = o[name];
  if (typeof v !== 'string')
    throw new ServerError('INVALID_ARGUMENT', `${name} must be a string`, { field: name });
  return v;
}

/** optionalString reads an optional string field. */
export function optionalString(o: Record<string, unknown>, name: string): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string')
    throw new ServerError('INVALID_ARGUMENT', `${name} must be a string`, { field: name });
  return v;
}

/** intField reads a required non-negative safe integer (a number, or a string of digits). */
export function intField(o: Record<string, unknown>, name: string): number {
  const v = o[name];
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ServerError('INVALID_ARGUMENT', `${name} must be a non-negative integer`, { field: name });
  }
  return n;
}

/** bigintField reads a fence token: a decimal string (or a safe integer), uint64. */
export function bigintField(o: Record<string, unknown>, name: string): bigint {
  const v = o[name];
  if (v === undefined) {
    throw new ServerError('INVALID_ARGUMENT', `${name} is required: a uint64 as a decimal string`, {
      field: name,
    });
  }
  let n: bigint | undefined;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) n = BigInt(v);
  else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) n = BigInt(v);
  if (n === undefined || n > (1n << 64n) - 1n) {
    throw new ServerError('INVALID_ARGUMENT', `${name} must be a uint64 as a decimal string`, {
      field: name,
    });
  }
  return n;
}
