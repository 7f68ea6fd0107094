import type { ApplyResult } from '@omnirelay/leadership-fsm';
import { SNAPSHOT_SLICE_SCOPES } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import { decodeSnapshotFile } from '@omnirelay/snapshot-file';
import { takeBackup } from '../../src/cluster/backup';
import { leasedFsm } from '../support/leased-fsm';

/** leaderWith is a stand-in for the leader's RaftNode whose backup holds `count` leased scopes. */
function leaderWith(count: number): RaftNode<ApplyResult> {
  const data = leasedFsm(count).snapshot();
  const node = {
    id: 'n1',
    clusterId: 'test-cluster',
    backup: () =>
      Promise.resolve({
        meta: { index: count, term: 1, membership: { voters: ['n1'], learners: [] } },
        data,
      }),
  };
  return node as unknown as RaftNode<ApplyResult>;
}

describe('takeBackup', () => {
  it('counts the backup’s scopes and leases from a restore that yields to the event loop between slices', async () => {
    const count = 2 * SNAPSHOT_SLICE_SCOPES + 1;
    // A callback queued now runs only if the backup let the event loop turn before it finished.
    let turns = 0;
    setImmediate(() => turns++);
    const parts = await takeBackup(leaderWith(count));
    expect(turns).toBe(1);
    const file = decodeSnapshotFile(Buffer.concat(parts));
    expect(file.header).toMatchObject({
      clusterId: 'test-cluster',
      index: count,
      scopes: count,
      leases: count,
      waiting: 0,
    });
  });
});
