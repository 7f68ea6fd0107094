import { createHash } from 'node:crypto';
import type { AppliedCommand, StateMachine } from '@omnirelay/raft';

/** KvResult is what a proposer of a KV command receives. */
export interface KvResult {
  readonly ok: boolean;
  readonly index: number;
  readonly error?: string;
}

/** KvDigest summarises what a replica applied: how many commands and a hash chain over them in order. */
export interface KvDigest {
  readonly count: number;
  readonly digest: string;
  readonly lastIndex: number;
}

interface KvSnapshot {
  readonly entries: Array<[string, string]>;
  readonly count: number;
  readonly digest: string;
  readonly lastIndex: number;
}

/**
 * KvStateMachine is the small key-value state machine that proves the Raft node (issue 4) before
 * the leadership state machine replaces it. Commands are JSON `{"key","value"}`. Besides the
 * map it keeps a hash chain over every applied command, so replicas can be compared for "same
 * commands in the same order" with one string.
 */
export class KvStateMachine implements StateMachine<KvResult> {
  private map = new Map<string, string>();
  private count = 0;
  private digest = '';
  private lastIndex = 0;

  /** encode builds a command. */
  static encode(key: string, value: string): Buffer {
    return Buffer.from(JSON.stringify({ key, value }));
  }

  apply(command: AppliedCommand): KvResult {
    this.lastIndex = command.index;
    this.count++;
    this.digest = createHash('sha256').update(this.digest).update(command.data).digest('hex');
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(command.data).toString('utf8'));
    } catch {
      return { ok: false, index: command.index, error: 'command is not JSON' };
    }
    const { key, value } = (parsed ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string' || typeof value !== 'string') {
      return { ok: false, index: command.index, error: 'command needs string key and value' };
    }
    this.map.set(key, value);
    return { ok: true, index: command.index };
  }

  /** get reads a key from this replica (serializable, not linearizable). */
  get(key: string): string | undefined {
    return this.map.get(key);
  }

  /** summary returns the count and hash chain of applied commands. */
  summary(): KvDigest {
    return { count: this.count, digest: this.digest, lastIndex: this.lastIndex };
  }

  snapshot(): Uint8Array {
    const snap: KvSnapshot = {
      entries: [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      count: this.count,
      digest: this.digest,
      lastIndex: this.lastIndex,
    };
    return Buffer.from(JSON.stringify(snap));
  }

  restore(data: Uint8Array): void {
    const snap = JSON.parse(Buffer.from(data).toString('utf8')) as KvSnapshot;
    this.map = new Map(snap.entries);
    this.count = snap.count;
    this.digest = snap.digest;
    this.lastIndex = snap.lastIndex;
  }
}
