import type { Entry } from '../../src/core/index';
import { chainDigest, entryDigest } from './entry-digest';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** KV_SNAPSHOT_FORMAT tags the snapshot bytes so that a foreign blob is refused, not misread. */
export const KV_SNAPSHOT_FORMAT = 'kv/1';

/** AppliedRecord is one entry a state machine applied: its index, term and content digest. */
export interface AppliedRecord {
  readonly index: number;
  readonly term: number;
  readonly digest: number;
}

/** KvApplyResult is what applying one entry returns: the key written and its previous value (commands only). */
export type KvApplyResult =
  | { readonly kind: 'set'; readonly key: string; readonly previous: string | undefined }
  | { readonly kind: 'none' };

/** encodeSet encodes the command `set key value` as bytes; keys hold no spaces. */
export function encodeSet(key: string, value: string): Uint8Array {
  if (key.length === 0 || key.includes(' ')) {
    throw new Error(`encodeSet: key must be non-empty and without spaces, got "${key}"`);
  }
  return encoder.encode(`set ${key} ${value}`);
}

/** decodeSet parses bytes made by encodeSet, or returns undefined for anything else. */
export function decodeSet(bytes: Uint8Array): { key: string; value: string } | undefined {
  const text = decoder.decode(bytes);
  if (!text.startsWith('set ')) return undefined;
  const space = text.indexOf(' ', 4);
  if (space < 0) return undefined;
  return { key: text.slice(4, space), value: text.slice(space + 1) };
}

interface KvSnapshotJson {
  readonly format: string;
  readonly index: number;
  readonly term: number;
  readonly chain: number;
  readonly pairs: readonly (readonly [string, string])[];
}

/**
 * KvStateMachine is a tiny deterministic key-value store driven by committed log entries. It
 * applies entries strictly in index order (a gap or a repeat throws), keeps a running digest of
 * everything it applied (so two replicas that applied the same sequence hold the same `chain`),
 * and records each applied entry for the checkers. Noop and config entries advance the index
 * and digest but change no key.
 */
export class KvStateMachine {
  private readonly data = new Map<string, string>();
  private appliedIndexValue: number;
  private appliedTermValue: number;
  private chainValue: number;
  /** history lists the entries applied since this instance was created or restored, in order. */
  readonly history: AppliedRecord[] = [];

  /** constructor builds an empty machine at index 0; use `restore` to start from a snapshot. */
  constructor(index = 0, term = 0, chain = 0, pairs: readonly (readonly [string, string])[] = []) {
    this.appliedIndexValue = index;
    this.appliedTermValue = term;
    this.chainValue = chain;
    for (const [k, v] of pairs) this.data.set(k, v);
  }

  /** appliedIndex is the index of the last applied entry (or of the snapshot restored from). */
  get appliedIndex(): number {
    return this.appliedIndexValue;
  }

  /** appliedTerm is the term of the last applied entry. */
  get appliedTerm(): number {
    return this.appliedTermValue;
  }

  /** chain is the running digest of every entry applied since index 0 (carried across snapshots). */
  get chain(): number {
    return this.chainValue;
  }

  /** get returns the value stored under `key`, or undefined. */
  get(key: string): string | undefined {
    return this.data.get(key);
  }

  /** apply applies the next committed entry; its index must be appliedIndex + 1. */
  apply(entry: Entry): KvApplyResult {
    if (entry.index !== this.appliedIndexValue + 1) {
      throw new Error(`kv: apply(${entry.index}) out of order, applied is ${this.appliedIndexValue}`);
    }
    const digest = entryDigest(entry);
    this.chainValue = chainDigest(this.chainValue, entry.index, entry.term, digest);
    this.appliedIndexValue = entry.index;
    this.appliedTermValue = entry.term;
    this.history.push({ index: entry.index, term: entry.term, digest });
    if (entry.kind !== 'command') return { kind: 'none' };
    const command = decodeSet(entry.data);
    if (command === undefined) return { kind: 'none' };
    const previous = this.data.get(command.key);
    this.data.set(command.key, command.value);
    return { kind: 'set', key: command.key, previous };
  }

  /** snapshot returns canonical bytes of the whole state (keys sorted), restorable with `restore`. */
  snapshot(): Uint8Array {
    const pairs = [...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const json: KvSnapshotJson = {
      format: KV_SNAPSHOT_FORMAT,
      index: this.appliedIndexValue,
      term: this.appliedTermValue,
      chain: this.chainValue,
      pairs,
    };
    return encoder.encode(JSON.stringify(json));
  }

  /** restore rebuilds a machine from `snapshot()` bytes; empty bytes (a bootstrap snapshot) give an empty machine. */
  static restore(bytes: Uint8Array): KvStateMachine {
    if (bytes.byteLength === 0) return new KvStateMachine();
    const json = JSON.parse(decoder.decode(bytes)) as KvSnapshotJson;
    if (json.format !== KV_SNAPSHOT_FORMAT) {
      throw new Error(`kv: snapshot format "${String(json.format)}" is not ${KV_SNAPSHOT_FORMAT}`);
    }
    return new KvStateMachine(json.index, json.term, json.chain, json.pairs);
  }
}
