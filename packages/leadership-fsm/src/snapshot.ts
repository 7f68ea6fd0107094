import { clusterSection } from './cluster-snapshot';
import { packValue } from './codec';
import type { FsmState, ScopeRecord } from './state';

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
