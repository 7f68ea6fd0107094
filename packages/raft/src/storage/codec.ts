import { Packr } from 'msgpackr';
import type { Entry, HardState, SnapshotMeta } from '../core/index';
import type { StoreIdentity } from './store-identity';

/**
 * STORAGE_FORMAT_VERSION is written at the first open and with every snapshot; a store of a version
 * this build does not read (STORAGE_FORMAT_VERSIONS_READ) is refused. Version 2 stores a snapshot's
 * data in chunks (KEY_SNAPSHOT_LAYOUT); version 1 kept it in one value (KEY_SNAPSHOT_DATA), and a
 * version 1 store becomes version 2 with its first snapshot written by this build.
 */
export const STORAGE_FORMAT_VERSION = 2;
export const STORAGE_FORMAT_VERSIONS_READ: readonly unknown[] = [1, 2];

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Keys of the LevelDB store. Entry keys sort by index: `e` + 16 hex digits. */
export const KEY_VERSION = 'v';
export const KEY_HARD_STATE = 'h';
export const KEY_SNAPSHOT_META = 'sm';
/** KEY_SNAPSHOT_DATA held a snapshot's data in one value (format version 1); it is read, never written. */
export const KEY_SNAPSHOT_DATA = 'sd';
/** KEY_SNAPSHOT_LAYOUT says where the stored snapshot's data is: its chunks (a SnapshotLayout). */
export const KEY_SNAPSHOT_LAYOUT = 'sl';
/** SNAPSHOT_CHUNK_PREFIX starts the key of every chunk of snapshot data: `c` + index (16 hex digits) + chunk number (8). */
export const SNAPSHOT_CHUNK_PREFIX = 'c';
export const KEY_IDENTITY = 'id';
export const ENTRY_KEY_PREFIX = 'e';

/** entryKey is the key of the entry at `index`. */
export function entryKey(index: number): string {
  return ENTRY_KEY_PREFIX + index.toString(16).padStart(16, '0');
}

/** indexOfEntryKey parses an entry key back to its index (NaN when it is not one). */
export function indexOfEntryKey(key: string): number {
  if (key.length !== 17 || !key.startsWith(ENTRY_KEY_PREFIX)) return Number.NaN;
  return Number.parseInt(key.slice(1), 16);
}

/**
 * SnapshotLayout says how the data of the snapshot at `index` is stored: `chunks` values under
 * snapshotChunkKey(index, 0 … chunks − 1), `bytes` in all. It is written with the snapshot's
 * metadata, after every chunk, so a snapshot whose layout is stored is whole.
 */
export interface SnapshotLayout {
  readonly index: number;
  readonly chunks: number;
  readonly bytes: number;
}

/** isSnapshotLayout checks a decoded value's shape. */
export function isSnapshotLayout(value: unknown): value is SnapshotLayout {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return [v['index'], v['chunks'], v['bytes']].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
}

/** snapshotChunkKey is the key of chunk `n` of the data of the snapshot at `index`. */
export function snapshotChunkKey(index: number, n: number): string {
  return SNAPSHOT_CHUNK_PREFIX + index.toString(16).padStart(16, '0') + n.toString(16).padStart(8, '0');
}

/**
 * snapshotChunkRange is the key range of every chunk of the snapshot at `index` ({gte, lt});
 * `below` and `above` are those of all chunks of other snapshots, lower and higher.
 */
export function snapshotChunkRange(index: number): {
  readonly gte: string;
  readonly lt: string;
  readonly below: { readonly gte: string; readonly lt: string };
  readonly above: { readonly gte: string; readonly lt: string };
} {
  const first = snapshotChunkKey(index, 0);
  const next = snapshotChunkKey(index + 1, 0);
  return {
    gte: first,
    lt: next,
    below: { gte: SNAPSHOT_CHUNK_PREFIX, lt: first },
    above: { gte: next, lt: String.fromCharCode(SNAPSHOT_CHUNK_PREFIX.charCodeAt(0) + 1) },
  };
}

/** encode serialises a stored value with msgpackr. */
export function encode(
  value: Entry | HardState | SnapshotMeta | SnapshotLayout | StoreIdentity | number,
): Buffer {
  return packr.pack(value);
}

/** decode deserialises a stored value; the caller validates its shape. */
export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
