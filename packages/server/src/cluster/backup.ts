import { LeadershipFsm } from '@omnirelay/leadership-fsm';
import type { ApplyResult, FsmStats } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { encodeSnapshotFile } from '@omnirelay/snapshot-file';

/** SNAPSHOT_CHUNK_BYTES bounds one message of the Cluster.Snapshot stream (well under gRPC's 4 MiB default). */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/**
 * takeBackup takes a consistent snapshot on the leader (RaftNode.backup: NOT_LEADER elsewhere,
 * everything acknowledged before the call included) and lays it out as a backup file
 * (@omnirelay/snapshot-file), with the counts `snapshot status` prints read from the captured
 * state itself, not from the live one that moved on meanwhile.
 */
export async function takeBackup(node: RaftNode<ApplyResult>): Promise<Buffer[]> {
  const snapshot = await node.backup();
  const stats = await restoredStats(snapshot.data);
  return encodeSnapshotFile(
    {
      clusterId: node.clusterId,
      index: snapshot.meta.index,
      term: snapshot.meta.term,
      membership: snapshot.meta.membership,
      takenBy: node.id,
      takenAtMs: Date.now(),
      scopes: stats.scopeCount,
      leases: stats.leaseCount,
      waiting: stats.waitingCount,
    },
    snapshot.data,
  );
}

/**
 * restoredStats reads the counts of snapshot `data` by restoring it one slice per event-loop
 * turn, so the leader taking a backup keeps serving meanwhile (100,000 leases restored at once
 * held its loop 250 ms and more).
 */
async function restoredStats(data: Uint8Array): Promise<FsmStats> {
  const restore = LeadershipFsm.beginRestore(data);
  for (;;) {
    const fsm = restore.restoreSlice();
    if (fsm !== undefined) return fsm.stats();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** chunksOf cuts the parts of a backup file into pieces of at most `bytesMax` (views, no copies). */
export function* chunksOf(parts: readonly Buffer[], bytesMax = SNAPSHOT_CHUNK_BYTES): Generator<Buffer> {
  for (const part of parts) {
    for (let at = 0; at < part.length; at += bytesMax) yield part.subarray(at, at + bytesMax);
  }
}
