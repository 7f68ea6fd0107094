import { Packr } from 'msgpackr';
import type { Command } from './commands';
import { parseCommand } from './commands';
import { LeadershipError } from './errors';
import { leaseListBytesMax } from './lease-batch';
import { COMMAND_BYTES_MAX, LEASE_BATCH_BYTES_MAX } from './limits';

/**
 * The one msgpackr configuration of this package. Plain maps and arrays only (no records or
 * shared structures, which would make bytes depend on what was packed before), 64-bit integers
 * decode as bigint, maps decode as plain objects. Every byte this package writes comes from it,
 * so equal values give equal bytes on every replica.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint', moreTypes: false });

/** packValue encodes `value` with this package's deterministic msgpackr configuration. */
export function packValue(value: unknown): Uint8Array {
  const bytes: Uint8Array = packr.pack(value);
  return bytes;
}

/** unpackValue decodes msgpack `bytes`; it throws whatever msgpackr throws on bad input. */
export function unpackValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes) as unknown;
}

/**
 * unpackValues decodes up to `countMax` consecutive msgpack values of `bytes` starting at byte
 * `start` (which must begin a value), and returns them with the byte offset just past the last:
 * a large value laid out as consecutive parts (a snapshot's scopes) can be decoded a slice at a
 * time. It throws whatever msgpackr throws on bad or truncated input.
 */
export function unpackValues(
  bytes: Uint8Array,
  start: number,
  countMax: number,
): { values: unknown[]; end: number } {
  const values: unknown[] = [];
  let end = start;
  if (countMax < 1 || start >= bytes.length) return { values, end };
  packr.unpackMultiple(bytes.subarray(start), (value: unknown, _from?: number, to?: number) => {
    values.push(value);
    end = start + (to ?? 0);
    return values.length < countMax;
  });
  return { values, end };
}

/**
 * arrayHeaderAt reads the msgpack array header at byte `at` of `bytes` (fixarray, array 16 or
 * array 32): the array's length and the offset of its first element, or null when no array
 * header starts there.
 */
export function arrayHeaderAt(bytes: Uint8Array, at: number): { length: number; first: number } | null {
  const tag = bytes[at];
  if (tag === undefined) return null;
  if (tag >= 0x90 && tag <= 0x9f) return { length: tag & 0x0f, first: at + 1 };
  if (tag === 0xdc && at + 3 <= bytes.length) {
    return { length: (bytes[at + 1]! << 8) | bytes[at + 2]!, first: at + 3 };
  }
  if (tag === 0xdd && at + 5 <= bytes.length) {
    const length =
      bytes[at + 1]! * 0x1000000 + ((bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!);
    return { length, first: at + 5 };
  }
  return null;
}

/**
 * encodeCommand validates `command` (as `parseCommand` does) and returns its canonical msgpack
 * bytes: fields in a fixed order, so one command has one encoding. It throws LeadershipError on
 * a bad command, which lets the server refuse bad input before it costs a log entry; a Renew or
 * Expire whose leases take more than LEASE_BATCH_BYTES_MAX is BATCH_TOO_LARGE. (Decoding does not
 * check that bound: entries written before it existed must apply as they did.)
 */
export function encodeCommand(command: Command): Uint8Array {
  const parsed = parseCommand(command);
  if (parsed.type === 'renew' || parsed.type === 'expire') {
    const leaseBytes = leaseListBytesMax(parsed.leases);
    if (leaseBytes > LEASE_BATCH_BYTES_MAX) {
      throw new LeadershipError(
        'BATCH_TOO_LARGE',
        `the ${parsed.type} batch's leases take ${leaseBytes} bytes; at most ${LEASE_BATCH_BYTES_MAX} are allowed`,
        { field: 'leases', limit: LEASE_BATCH_BYTES_MAX },
      );
    }
  }
  const bytes = packValue(parsed);
  if (bytes.length > COMMAND_BYTES_MAX) {
    throw new LeadershipError(
      'COMMAND_TOO_LARGE',
      `the command encodes to ${bytes.length} bytes; at most ${COMMAND_BYTES_MAX} are allowed`,
      { limit: COMMAND_BYTES_MAX },
    );
  }
  return bytes;
}

/**
 * decodeCommand turns bytes from the log back into a validated Command. It throws
 * LeadershipError: COMMAND_TOO_LARGE over COMMAND_BYTES_MAX, MALFORMED_COMMAND for bytes that
 * are not one msgpack value of the command shape, or the code of the broken bound.
 */
export function decodeCommand(bytes: Uint8Array): Command {
  if (bytes.length > COMMAND_BYTES_MAX) {
    throw new LeadershipError(
      'COMMAND_TOO_LARGE',
      `the command is ${bytes.length} bytes; at most ${COMMAND_BYTES_MAX} are allowed`,
      { limit: COMMAND_BYTES_MAX },
    );
  }
  if (bytes.length === 0) {
    throw new LeadershipError('MALFORMED_COMMAND', 'the command is empty (0 bytes)');
  }
  let value: unknown;
  try {
    value = unpackValue(bytes);
  } catch {
    // msgpackr's own message is left out: it may differ between its JS and native decoders,
    // and a result must be the same on every replica.
    throw new LeadershipError('MALFORMED_COMMAND', 'the command is not one valid msgpack value');
  }
  return parseCommand(value);
}
