import { assert } from './assert';
import { clusterSection, decodeClusterSection } from './cluster-snapshot';
import { epochOfFence, indexOfFence } from './fence';
import { packValue, unpackValue } from './codec';
import { FENCE_TOKEN_MAX } from './commands';
import { LeadershipError } from './errors';
import type { Lease } from './lease';
import type { Waiter } from './queue';
import { WaitQueue } from './queue';
import { scopeNameProblem } from './scope-name';
import { isValidSessionId } from './text';
import type { ScopeRecord } from './state';
import { FsmState } from './state';

/**
 * SNAPSHOT_FORMAT is the version of the snapshot layout `encodeSnapshot` writes. `decodeSnapshot`
 * reads it and SNAPSHOT_FORMAT_SESSIONLESS and refuses any other (INVALID_SNAPSHOT); a change of
 * layout bumps it and keeps a reader for the old.
 *
 * Format 2 is one msgpack array (positional, so 100,000 leases cost no repeated field names):
 * `[format, lastAppliedIndex, lastAppliedTerm, clockMs, scopes]`, scopes sorted by name, each
 * `[name, scopeTerm, revision, lastFenceToken, holder | null, waiters]`, a holder
 * `[candidateId, metadata, fenceToken, leaseTtlMs, grantedStampMs, lastRenewalStampMs, deadlineMs,
 * sessionId]`, waiters in promotion order, each `[candidateId, metadata, leaseTtlMs, priority,
 * joinedRevision, sessionId]`. Fence tokens are msgpack int64/uint64, every other number a
 * msgpack number.
 */
export const SNAPSHOT_FORMAT = 2;

/**
 * SNAPSHOT_FORMAT_CLUSTER is format 2 with the cross-cluster section (`cluster-snapshot.ts`)
 * before the scopes: `[format, lastAppliedIndex, lastAppliedTerm, clockMs, cluster, scopes]`.
 * It is written only once a cluster descriptor or a mirror entry was applied, so a cluster that
 * never uses cross-cluster features keeps writing format 2, byte for byte as before (and nodes
 * of an earlier version can still read its snapshots). The scopes stay last, so
 * `SnapshotCapture` still appends them a slice at a time after the header.
 */
export const SNAPSHOT_FORMAT_CLUSTER = 3;

/**
 * SNAPSHOT_FORMAT_SESSIONLESS is format 1, written before leases belonged to client sessions:
 * format 2 without the trailing sessionId of holders and waiters. It is read with every
 * session '' (none), which is what those leases had.
 */
export const SNAPSHOT_FORMAT_SESSIONLESS = 1;

/**
 * ScopeTuple is one scope laid out as SNAPSHOT_FORMAT stores it (see SNAPSHOT_FORMAT). It is a fresh
 * array of plain values: changing the record later does not change it.
 */
export type ScopeTuple = readonly unknown[];

/** scopeTuple lays out `record` as SNAPSHOT_FORMAT stores it, copying every value it holds. */
export function scopeTuple(record: ScopeRecord): ScopeTuple {
  const holder = record.holder;
  return [
    record.name,
    record.scopeTerm,
    record.revision,
    record.lastFenceToken,
    holder === null
      ? null
      : [
          holder.candidateId,
          holder.metadata,
          holder.fenceToken,
          holder.leaseTtlMs,
          holder.grantedStampMs,
          holder.lastRenewalStampMs,
          holder.deadlineMs,
          holder.sessionId,
        ],
    record.queue
      .toArray()
      .map((w) => [w.candidateId, w.metadata, w.leaseTtlMs, w.priority, w.joinedRevision, w.sessionId]),
  ];
}

/** snapshotRoot is the root array of SNAPSHOT_FORMAT around `scopes`. */
export function snapshotRoot(state: FsmState, scopes: readonly ScopeTuple[]): unknown[] {
  if (state.cluster.isUnused) {
    return [SNAPSHOT_FORMAT, state.lastAppliedIndex, state.lastAppliedTerm, state.clockMs, scopes];
  }
  return [
    SNAPSHOT_FORMAT_CLUSTER,
    state.lastAppliedIndex,
    state.lastAppliedTerm,
    state.clockMs,
    clusterSection(state.cluster),
    scopes,
  ];
}

/**
 * encodeSnapshot returns the msgpack bytes of the whole state. Scopes go in sorted name order and
 * waiters in queue order, so the bytes depend only on the state, never on the order in which Map
 * entries were inserted: equal states give equal bytes on every replica. `SnapshotCapture`
 * writes the same bytes a slice at a time.
 */
export function encodeSnapshot(state: FsmState): Uint8Array {
  const scopes = state.sortedScopeNames().map((name) => scopeTuple(state.scopes.get(name)!));
  return packValue(snapshotRoot(state, scopes));
}

function invalid(message: string): LeadershipError {
  return new LeadershipError('INVALID_SNAPSHOT', `invalid snapshot: ${message}`);
}

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

/** Layout is what differs between the formats `decodeSnapshot` reads: whether records carry a session. */
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

/**
 * decodeSnapshot rebuilds the state from `encodeSnapshot` bytes, of SNAPSHOT_FORMAT or of
 * SNAPSHOT_FORMAT_SESSIONLESS (every lease and waiter without a session). It throws
 * INVALID_SNAPSHOT for bytes of another format or shape, and InvariantViolation for a well-formed snapshot whose
 * state breaks an invariant (unsorted scopes, a vacant scope with waiters, a fence above the
 * applied index), which only a bug or corruption can produce.
 */
export function decodeSnapshot(bytes: Uint8Array): FsmState {
  let root: unknown;
  try {
    root = unpackValue(bytes);
  } catch {
    throw invalid('not one valid msgpack value');
  }
  if (
    !Array.isArray(root) ||
    (root[0] !== SNAPSHOT_FORMAT &&
      root[0] !== SNAPSHOT_FORMAT_SESSIONLESS &&
      root[0] !== SNAPSHOT_FORMAT_CLUSTER)
  ) {
    throw invalid(
      `unknown format (this version reads formats ${SNAPSHOT_FORMAT_SESSIONLESS}, ${SNAPSHOT_FORMAT} and ${SNAPSHOT_FORMAT_CLUSTER})`,
    );
  }
  const layout: Layout = { sessions: root[0] !== SNAPSHOT_FORMAT_SESSIONLESS };
  const withCluster = root[0] === SNAPSHOT_FORMAT_CLUSTER;
  const scopesAt = withCluster ? 5 : 4;
  if (root.length !== scopesAt + 1 || !Array.isArray(root[scopesAt])) {
    throw invalid(
      `the root is not [format, lastAppliedIndex, lastAppliedTerm, clockMs, ${withCluster ? 'cluster, ' : ''}scopes]`,
    );
  }
  const top = root as readonly unknown[];
  const state = new FsmState();
  if (withCluster) {
    state.cluster = decodeClusterSection(top[4]);
  }
  state.lastAppliedIndex = integer(top[1], -1, 'lastAppliedIndex');
  state.lastAppliedTerm = integer(top[2], -1, 'lastAppliedTerm');
  state.clockMs = integer(top[3], -1, 'clockMs');
  const scopes = top[scopesAt] as readonly unknown[];
  let previousName = '';
  const records: ScopeRecord[] = [];
  for (let i = 0; i < scopes.length; i++) {
    const s = tuple(scopes[i], 6, i, 'scope');
    const name = text(s[0], i, 'name');
    if (scopeNameProblem(name) !== null) {
      throw invalid(`scopes[${i}] has an invalid name`);
    }
    assert(i === 0 || previousName < name, () => `snapshot scopes out of order at ${i}: ${name}`);
    previousName = name;
    const record: ScopeRecord = {
      name,
      scopeTerm: integer(s[1], i, 'scopeTerm'),
      revision: integer(s[2], i, 'revision'),
      lastFenceToken: fence(s[3], i, 'lastFenceToken'),
      holder: decodeHolder(s[4], i, layout),
      queue: decodeWaiters(s[5], i, name, layout),
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
    records.push(record);
  }
  state.restoreScopes(records);
  return state;
}
