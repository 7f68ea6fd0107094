import { createHash } from 'node:crypto';
import { SnapshotFileError } from './snapshot-file-error';

/**
 * SNAPSHOT_FILE_MAGIC opens every backup file: 8 bytes, so `head -c 8` (or `file`) tells a
 * backup from anything else, and a restore refuses a file that is not one before reading more.
 */
export const SNAPSHOT_FILE_MAGIC = Buffer.from('OMRSNAP\n', 'latin1');

/** SNAPSHOT_FILE_VERSION is the format version written; a file of another version is refused. */
export const SNAPSHOT_FILE_VERSION = 1;

/** SNAPSHOT_FILE_HEADER_BYTES_MAX bounds the JSON header (membership of ≤ 15 members, ids and addresses). */
export const SNAPSHOT_FILE_HEADER_BYTES_MAX = 64 * 1024;

/** SNAPSHOT_FILE_CHECKSUM_BYTES is the length of the SHA-256 that closes the file. */
export const SNAPSHOT_FILE_CHECKSUM_BYTES = 32;

/** PREFIX_BYTES: the magic, the version (uint16 BE) and the header's length (uint32 BE). */
const PREFIX_BYTES = SNAPSHOT_FILE_MAGIC.length + 2 + 4;

/**
 * SnapshotFileMembership is the Raft configuration the snapshot stands at: voters, learners and
 * the peer addresses of members added at run time. Incarnations are left out on purpose: a
 * restore binds the members of the new cluster afresh.
 */
export interface SnapshotFileMembership {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly addresses?: Readonly<Record<string, string>>;
}

/**
 * SnapshotFileHeader describes the state machine bytes that follow it: the Raft index and term
 * they stand at (everything committed up to `index` is in them), the membership as of `index`,
 * the cluster they came from, which node took them and when (wall clock, for people), and counts
 * of what they hold, so `snapshot status` needs no state-machine code.
 */
export interface SnapshotFileHeader {
  readonly clusterId: string;
  readonly index: number;
  readonly term: number;
  readonly membership: SnapshotFileMembership;
  readonly takenBy: string;
  readonly takenAtMs: number;
  readonly scopes: number;
  readonly leases: number;
  readonly waiting: number;
  /** dataBytes is the length of the state machine bytes after the header. */
  readonly dataBytes: number;
}

/** SnapshotFile is a decoded, verified backup: its header, its state machine bytes and its SHA-256 (hex). */
export interface SnapshotFile {
  readonly header: SnapshotFileHeader;
  readonly data: Uint8Array;
  readonly sha256: string;
}

/**
 * encodeSnapshotFile lays a backup out as (all integers big-endian):
 *
 * ```
 * magic "OMRSNAP\n" (8) | version uint16 | header length uint32 | header (UTF-8 JSON)
 *   | state machine bytes (header.dataBytes) | SHA-256 of everything before it (32)
 * ```
 *
 * It returns the parts in order, so a server can send them without copying the state again.
 */
export function encodeSnapshotFile(
  header: Omit<SnapshotFileHeader, 'dataBytes'>,
  data: Uint8Array,
): Buffer[] {
  const json = Buffer.from(JSON.stringify({ ...header, dataBytes: data.byteLength }), 'utf8');
  if (json.length > SNAPSHOT_FILE_HEADER_BYTES_MAX) {
    throw new RangeError(`snapshot header of ${json.length} bytes exceeds ${SNAPSHOT_FILE_HEADER_BYTES_MAX}`);
  }
  const prefix = Buffer.alloc(PREFIX_BYTES);
  SNAPSHOT_FILE_MAGIC.copy(prefix, 0);
  prefix.writeUInt16BE(SNAPSHOT_FILE_VERSION, SNAPSHOT_FILE_MAGIC.length);
  prefix.writeUInt32BE(json.length, SNAPSHOT_FILE_MAGIC.length + 2);
  const hash = createHash('sha256').update(prefix).update(json).update(data);
  return [prefix, json, Buffer.from(data.buffer, data.byteOffset, data.byteLength), hash.digest()];
}

/**
 * decodeSnapshotFile verifies and decodes a whole backup file. It throws SnapshotFileError:
 * SNAPSHOT_NOT_A_SNAPSHOT without the magic, SNAPSHOT_VERSION_UNSUPPORTED for another version,
 * SNAPSHOT_CHECKSUM_MISMATCH when the bytes are not the ones saved (cut short, appended to or
 * changed: checked before anything else is read), SNAPSHOT_MALFORMED for a header that does not
 * describe the file.
 */
export function decodeSnapshotFile(bytes: Uint8Array): SnapshotFile {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = SNAPSHOT_FILE_MAGIC.length;
  if (buffer.length < magic || !buffer.subarray(0, magic).equals(SNAPSHOT_FILE_MAGIC)) {
    throw new SnapshotFileError(
      'SNAPSHOT_NOT_A_SNAPSHOT',
      `not an OmniRelay snapshot: it does not start with ${JSON.stringify(SNAPSHOT_FILE_MAGIC.toString('latin1'))}`,
    );
  }
  if (buffer.length < PREFIX_BYTES + SNAPSHOT_FILE_CHECKSUM_BYTES) {
    throw new SnapshotFileError(
      'SNAPSHOT_CHECKSUM_MISMATCH',
      `the snapshot is truncated: ${buffer.length} bytes cannot hold a header and a checksum`,
    );
  }
  const version = buffer.readUInt16BE(magic);
  if (version !== SNAPSHOT_FILE_VERSION) {
    throw new SnapshotFileError(
      'SNAPSHOT_VERSION_UNSUPPORTED',
      `snapshot format version ${version} is not supported (this build reads version ${SNAPSHOT_FILE_VERSION})`,
    );
  }
  const bodyEnd = buffer.length - SNAPSHOT_FILE_CHECKSUM_BYTES;
  const sha256 = createHash('sha256').update(buffer.subarray(0, bodyEnd)).digest();
  if (!sha256.equals(buffer.subarray(bodyEnd))) {
    throw new SnapshotFileError(
      'SNAPSHOT_CHECKSUM_MISMATCH',
      'the snapshot checksum (SHA-256) does not match: the file is truncated or was changed after it was saved',
    );
  }
  const headerBytes = buffer.readUInt32BE(magic + 2);
  if (headerBytes > SNAPSHOT_FILE_HEADER_BYTES_MAX || PREFIX_BYTES + headerBytes > bodyEnd) {
    throw new SnapshotFileError(
      'SNAPSHOT_MALFORMED',
      `the header length ${headerBytes} does not fit the file`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(buffer.subarray(PREFIX_BYTES, PREFIX_BYTES + headerBytes).toString('utf8'));
  } catch {
    throw new SnapshotFileError('SNAPSHOT_MALFORMED', 'the snapshot header is not valid JSON');
  }
  const problem = headerProblem(header);
  if (problem !== undefined)
    throw new SnapshotFileError('SNAPSHOT_MALFORMED', `the snapshot header ${problem}`);
  const h = header as SnapshotFileHeader;
  const dataStart = PREFIX_BYTES + headerBytes;
  if (dataStart + h.dataBytes !== bodyEnd) {
    throw new SnapshotFileError(
      'SNAPSHOT_MALFORMED',
      `the header announces ${h.dataBytes} data bytes but the file holds ${bodyEnd - dataStart}`,
    );
  }
  return { header: h, data: buffer.subarray(dataStart, bodyEnd), sha256: sha256.toString('hex') };
}

/** headerProblem says what is wrong with a decoded header, or undefined when it is well formed. */
function headerProblem(h: unknown): string | undefined {
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return 'is not an object';
  const o = h as Record<string, unknown>;
  if (typeof o['clusterId'] !== 'string') return 'has no clusterId string';
  if (typeof o['takenBy'] !== 'string') return 'has no takenBy string';
  for (const field of ['index', 'term', 'takenAtMs', 'scopes', 'leases', 'waiting', 'dataBytes']) {
    const v = o[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return `field ${field} is not a count`;
  }
  if ((o['index'] as number) < 1) return 'index is below 1';
  const m = o['membership'];
  if (typeof m !== 'object' || m === null) return 'has no membership';
  const membership = m as Record<string, unknown>;
  const ids = (v: unknown): boolean =>
    Array.isArray(v) && v.every((id) => typeof id === 'string' && id !== '');
  if (!ids(membership['voters']) || !ids(membership['learners'])) {
    return 'membership does not list voters and learners by id';
  }
  if ((membership['voters'] as unknown[]).length === 0) return 'membership has no voter';
  const addresses = membership['addresses'];
  if (
    addresses !== undefined &&
    (typeof addresses !== 'object' ||
      addresses === null ||
      !Object.values(addresses).every((a) => typeof a === 'string'))
  ) {
    return 'membership addresses are not strings';
  }
  return undefined;
}
