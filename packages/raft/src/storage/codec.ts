import { Packr } from 'msgpackr';
import type { Entry, HardState, SnapshotMeta } from '../core/index';
import type { StoreIdentity } from './store-identity';

/** STORAGE_FORMAT_VERSION is written at the first open; a store of another version is refused. */
export const STORAGE_FORMAT_VERSION = 1;

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Keys of the LevelDB store. Entry keys sort by index: `e` + 16 hex digits. */
export const KEY_VERSION = 'v';
export const KEY_HARD_STATE = 'h';
export const KEY_SNAPSHOT_META = 'sm';
export const KEY_SNAPSHOT_DATA = 'sd';
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

/** encode serialises a stored value with msgpackr. */
export function encode(value: Entry | HardState | SnapshotMeta | StoreIdentity | number): Buffer {
  return packr.pack(value);
}

/** decode deserialises a stored value; the caller validates its shape. */
export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
