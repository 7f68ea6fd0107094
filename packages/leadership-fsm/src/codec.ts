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
