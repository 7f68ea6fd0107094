import { assert } from './assert';
import { decodeClusterSection } from './cluster-snapshot';
import { arrayHeaderAt, unpackValue, unpackValues } from './codec';
import { FENCE_TOKEN_MAX } from './commands';
import { LeadershipError } from './errors';
import { epochOfFence, indexOfFence } from './fence';
import type { Lease } from './lease';
import { SNAPSHOT_SLICE_SCOPES } from './limits';
import type { Waiter } from './queue';
import { WaitQueue } from './queue';
import { scopeNameProblem } from './scope-name';
import { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_CLUSTER, SNAPSHOT_FORMAT_SESSIONLESS } from './snapshot';
import type { ScopeRecord } from './state';
import { FsmState } from './state';
import { isValidSessionId } from './text';

function invalid(message: string): LeadershipError {
  return new LeadershipError('INVALID_SNAPSHOT', `invalid snapshot: ${message}`);
}

const NOT_MSGPACK = 'not one valid msgpack value';

// The checks below name the offending field only when they fail: building a description for
// each of a million fields up front would cost more than the decoding itself.

function tuple(value: unknown, length: number, scopeIndex: number, field: string): readonly unknown[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw invalid(`scopes[${scopeIndex}].${field} is not an array of ${length}`);
  }
  return value;
}

function list(value: unknown, scopeIndex: number, field: string): readonly unknown[] {
  if (!Array.isArray(value)) {
    throw invalid(`scopes[${scopeIndex}].${field} is not an array`);
  }
  return value;
}

function integer(value: unknown, scopeIndex: number, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalid(`scopes[${scopeIndex}].${field} is not a safe integer`);
  }
  return value;
}

function text(value: unknown, scopeIndex: number, field: string): string {
  if (typeof value !== 'string') {
    throw invalid(`scopes[${scopeIndex}].${field} is not a string`);
  }
  return value;
}

function fence(value: unknown, scopeIndex: number, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > FENCE_TOKEN_MAX) {
    throw invalid(`scopes[${scopeIndex}].${field} is not a uint64 fence token`);
  }
  return value;
}

/** Layout is what differs between the formats a restore reads: whether records carry a session. */
interface Layout {
  readonly sessions: boolean;
}

/** sessionOf reads the trailing session id of a holder or waiter tuple ('' in format 1). */
function sessionOf(
  tupleValue: readonly unknown[],
  at: number,
  layout: Layout,
  i: number,
  field: string,
): string {
  if (!layout.sessions) {
    return '';
  }
  const sessionId = text(tupleValue[at], i, field);
  if (sessionId !== '' && !isValidSessionId(sessionId)) {
    throw invalid(`scopes[${i}].${field} is not a session id`);
  }
  return sessionId;
}

function decodeHolder(value: unknown, i: number, layout: Layout): Lease | null {
  if (value === null) {
    return null;
  }
  const h = tuple(value, layout.sessions ? 8 : 7, i, 'holder');
  return {
    candidateId: text(h[0], i, 'holder.candidateId'),
    sessionId: sessionOf(h, 7, layout, i, 'holder.sessionId'),
    metadata: text(h[1], i, 'holder.metadata'),
    fenceToken: fence(h[2], i, 'holder.fenceToken'),
    leaseTtlMs: integer(h[3], i, 'holder.leaseTtlMs'),
    grantedStampMs: integer(h[4], i, 'holder.grantedStampMs'),
    lastRenewalStampMs: integer(h[5], i, 'holder.lastRenewalStampMs'),
    deadlineMs: integer(h[6], i, 'holder.deadlineMs'),
  };
}

function decodeWaiters(value: unknown, i: number, name: string, layout: Layout): WaitQueue {
  const waiters = list(value, i, 'waiters');
  if (waiters.length === 0) {
    return new WaitQueue();
  }
  return WaitQueue.fromArray(
    waiters.map((item): Waiter => {
      const w = tuple(item, layout.sessions ? 6 : 5, i, 'waiter');
      return {
        candidateId: text(w[0], i, 'waiter.candidateId'),
        sessionId: sessionOf(w, 5, layout, i, 'waiter.sessionId'),
        metadata: text(w[1], i, 'waiter.metadata'),
        leaseTtlMs: integer(w[2], i, 'waiter.leaseTtlMs'),
        priority: integer(w[3], i, 'waiter.priority'),
        joinedRevision: integer(w[4], i, 'waiter.joinedRevision'),
      };
    }),
    name,
  );
}

/** readValues decodes `count` consecutive values from `start`; INVALID_SNAPSHOT when they are not there. */
function readValues(bytes: Uint8Array, start: number, count: number): { values: unknown[]; end: number } {
  let read: { values: unknown[]; end: number };
  try {
    read = unpackValues(bytes, start, count);
  } catch {
    throw invalid(NOT_MSGPACK);
  }
  if (read.values.length < count) throw invalid(NOT_MSGPACK);
  return read;
}

function unknownFormat(): LeadershipError {
  return invalid(
    `unknown format (this version reads formats ${SNAPSHOT_FORMAT_SESSIONLESS}, ${SNAPSHOT_FORMAT} and ${SNAPSHOT_FORMAT_CLUSTER})`,
  );
}

/**
 * SnapshotRestore rebuilds the state from `encodeSnapshot` bytes (SNAPSHOT_FORMAT,
 * SNAPSHOT_FORMAT_CLUSTER, or SNAPSHOT_FORMAT_SESSIONLESS with every lease and waiter without a
 * session) a slice of scopes at a time, so a runtime can install 100,000 leases without
 * stopping its event loop for the whole decoding: the scopes are consecutive msgpack values
 * after the root's header, and each slice decodes and checks the next ones.
 *
 * Nothing of the state is usable before the last slice: the slices build a new state that no
 * one else sees, and only the call that finishes it returns it (whole, at the snapshot's index),
 * so a node that restores in slices keeps serving its previous state in between.
 *
 * It throws INVALID_SNAPSHOT for bytes of another format or shape (the header in the
 * constructor, a scope in the slice that reads it, trailing bytes in the last), and
 * InvariantViolation for a well-formed snapshot whose state breaks an invariant (unsorted
 * scopes, a vacant scope with waiters, a fence above the applied index), which only a bug or
 * corruption can produce. After a throw the restore is unusable.
 */
export class SnapshotRestore {
  private readonly state = new FsmState();
  private readonly layout: Layout;
  /** offset is where the next scope's bytes start. */
  private offset: number;
  /** scopesLeft is how many scopes remain to decode. */
  private scopesLeft: number;
  private decoded = 0;
  private previousName = '';
  private done = false;

  /** constructor reads the snapshot's header (format, applied index and term, clock, cluster). */
  constructor(private readonly bytes: Uint8Array) {
    const root = arrayHeaderAt(bytes, 0);
    if (root === null) {
      // Not an array: tell bad msgpack from a value of another shape, as a whole decode would.
      try {
        unpackValue(bytes);
      } catch {
        throw invalid(NOT_MSGPACK);
      }
      throw unknownFormat();
    }
    const format = root.length === 0 ? undefined : readValues(bytes, root.first, 1).values[0];
    if (
      format !== SNAPSHOT_FORMAT &&
      format !== SNAPSHOT_FORMAT_SESSIONLESS &&
      format !== SNAPSHOT_FORMAT_CLUSTER
    ) {
      throw unknownFormat();
    }
    this.layout = { sessions: format !== SNAPSHOT_FORMAT_SESSIONLESS };
    const withCluster = format === SNAPSHOT_FORMAT_CLUSTER;
    const scopesAt = withCluster ? 5 : 4;
    const rootProblem = `the root is not [format, lastAppliedIndex, lastAppliedTerm, clockMs, ${withCluster ? 'cluster, ' : ''}scopes]`;
    if (root.length !== scopesAt + 1) throw invalid(rootProblem);
    const head = readValues(bytes, root.first, scopesAt);
    const scopes = arrayHeaderAt(bytes, head.end);
    if (scopes === null) {
      readValues(bytes, head.end, 1);
      throw invalid(rootProblem);
    }
    const top = head.values;
    if (withCluster) {
      this.state.cluster = decodeClusterSection(top[4]);
    }
    this.state.lastAppliedIndex = integer(top[1], -1, 'lastAppliedIndex');
    this.state.lastAppliedTerm = integer(top[2], -1, 'lastAppliedTerm');
    this.state.clockMs = integer(top[3], -1, 'clockMs');
    this.offset = scopes.first;
    this.scopesLeft = scopes.length;
  }

  /** index is the applied index of the snapshot being restored. */
  get index(): number {
    return this.state.lastAppliedIndex;
  }

  /**
   * restoreSlice decodes up to `scopesMax` more scopes. It returns undefined while scopes
   * remain, and the whole restored state on the call that decodes the last one (and on every
   * call after). INVALID_ARGUMENT for a `scopesMax` that is not a positive integer.
   */
  restoreSlice(scopesMax: number = SNAPSHOT_SLICE_SCOPES): FsmState | undefined {
    if (this.done) return this.state;
    if (!Number.isSafeInteger(scopesMax) || scopesMax < 1) {
      throw new LeadershipError(
        'INVALID_ARGUMENT',
        `scopesMax is ${scopesMax}; it must be a positive integer`,
        {
          field: 'scopesMax',
        },
      );
    }
    const count = Math.min(scopesMax, this.scopesLeft);
    const read = readValues(this.bytes, this.offset, count);
    for (const value of read.values) {
      this.state.restoreScope(this.decodeScope(value, this.decoded));
      this.decoded++;
    }
    this.offset = read.end;
    this.scopesLeft -= count;
    if (this.scopesLeft > 0) return undefined;
    if (this.offset !== this.bytes.length) throw invalid(NOT_MSGPACK);
    this.state.finishRestore();
    this.done = true;
    return this.state;
  }

  /** decodeScope checks and builds the record of scope `i`. */
  private decodeScope(value: unknown, i: number): ScopeRecord {
    const state = this.state;
    const s = tuple(value, 6, i, 'scope');
    const name = text(s[0], i, 'name');
    if (scopeNameProblem(name) !== null) {
      throw invalid(`scopes[${i}] has an invalid name`);
    }
    const previousName = this.previousName;
    assert(i === 0 || previousName < name, () => `snapshot scopes out of order at ${i}: ${name}`);
    this.previousName = name;
    const record: ScopeRecord = {
      name,
      scopeTerm: integer(s[1], i, 'scopeTerm'),
      revision: integer(s[2], i, 'revision'),
      lastFenceToken: fence(s[3], i, 'lastFenceToken'),
      holder: decodeHolder(s[4], i, this.layout),
      queue: decodeWaiters(s[5], i, name, this.layout),
      deadlineSlot: undefined,
    };
    if (
      record.holder === null ? record.queue.length > 0 : record.holder.fenceToken !== record.lastFenceToken
    ) {
      assert(false, () => `snapshot scope ${name}: vacant with waiters, or holder fence not the last fence`);
    }
    // A fence of an earlier epoch may come from another cluster's log (a lease inherited at a
    // promotion), whose indexes are not this log's: only this epoch's fences are bounded by it.
    const epoch = epochOfFence(record.lastFenceToken);
    assert(
      (epoch < state.cluster.epoch || indexOfFence(record.lastFenceToken) <= state.lastAppliedIndex) &&
        epoch <= state.cluster.epoch,
      () =>
        `snapshot scope ${name}: fence ${record.lastFenceToken} above applied ${state.lastAppliedIndex} in epoch ${state.cluster.epoch}`,
    );
    return record;
  }
}

/**
 * decodeSnapshot rebuilds the state from `encodeSnapshot` bytes at once: a SnapshotRestore run
 * to its end in one call (same checks, same errors).
 */
export function decodeSnapshot(bytes: Uint8Array): FsmState {
  const restore = new SnapshotRestore(bytes);
  for (;;) {
    const state = restore.restoreSlice(Number.MAX_SAFE_INTEGER);
    if (state !== undefined) return state;
  }
}
