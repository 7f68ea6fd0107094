import type { CompactionReport, EventLoopStall } from '@omnirelay/raft';
import type { LocalCluster } from '../../src/index';
import { acquireMany, identicalStateOn, useLocalCluster, waitUntil } from './cluster-helpers';

jest.setTimeout(600_000);

/** CompactionStatus is the part of GET /status these tests read. */
interface CompactionStatus {
  readonly role: string;
  readonly term: number;
  readonly leader: string;
  readonly applied: number;
  readonly snapshotIndex: number;
  readonly leadership: { readonly leases: number };
  readonly transport: { readonly snapshotsSent: number; readonly snapshotsReceived: number };
  readonly eventLoopStall: EventLoopStall;
  readonly lastCompaction: CompactionReport | null;
}

async function statusOf(cluster: LocalCluster, id: string): Promise<CompactionStatus> {
  const res = await cluster.get(id, '/status');
  expect(res.status).toBe(200);
  return res.body as CompactionStatus;
}

/**
 * leasesOnAll waits until every node applied at least `leasesMin` leases, from /status (not from
 * /debug/state, which encodes the whole state at once and would stall the nodes it measures).
 * A node that does not answer yet (it is starting) has not.
 */
async function leasesOnAll(cluster: LocalCluster, ids: readonly string[], leasesMin: number): Promise<void> {
  const leasesOn = (id: string): Promise<number> =>
    statusOf(cluster, id).then(
      (s) => s.leadership.leases,
      () => -1,
    );
  await waitUntil(
    `${ids.join(',')} to apply ${leasesMin} leases`,
    async () => (await Promise.all(ids.map(leasesOn))).every((leases) => leases >= leasesMin),
    60_000,
  );
}

const LEASES = 100_000;
const TRIGGER_LEASES = 600;

/**
 * Issue 15 item 4: a snapshot of 100,000 leases used to be encoded and written inside the Raft
 * loop, so the leader sent no heartbeats for as long as it took. It is worst when only the
 * leader compacts (its followers restarted since, and count entries from another point): the
 * followers, not stalled themselves, see no heartbeat and elect another leader. Here the
 * followers are restarted with compaction off, and only the leader takes the snapshot: it is
 * captured at once and encoded in slices beside the loop, so no election starts and no lease
 * expires.
 */
describe('a leader compacting 100,000 live leases', () => {
  // No snapshot while the leases are acquired; the trigger's entries cross the threshold.
  const cluster = useLocalCluster('compaction', {
    size: 3,
    extraArgs: ['--snapshot-entries', String(LEASES + TRIGGER_LEASES / 2)],
  });
  const ids = ['n1', 'n2', 'n3'];
  let leader = '';

  it('keeps its leadership and every lease while it takes the snapshot', async () => {
    leader = await cluster().waitForLeader();
    await acquireMany(cluster(), leader, 'compaction/live', LEASES, 128, 3_600_000);
    await leasesOnAll(cluster(), ids, LEASES);
    // The followers restart with compaction off, one at a time (the quorum stays up).
    for (const follower of ids.filter((id) => id !== leader)) {
      await cluster().kill(follower, 'SIGTERM');
      cluster().start(follower, ['--snapshot-entries', '100000000']);
      await leasesOnAll(cluster(), ids, LEASES);
    }
    expect(await cluster().waitForLeader()).toBe(leader);
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await Promise.all(ids.map((id) => statusOf(cluster(), id)));
    expect(before.every((s) => s.snapshotIndex === 0 && s.lastCompaction === null)).toBe(true);

    await acquireMany(cluster(), leader, 'compaction/trigger', TRIGGER_LEASES, 16, 3_600_000);
    await waitUntil(
      'the leader to take its snapshot',
      async () => (await statusOf(cluster(), leader)).snapshotIndex > 0,
      120_000,
    );
    // A few election timeouts more, in case a follower had started an election meanwhile.
    await new Promise((r) => setTimeout(r, 2_000));

    const after = await Promise.all(ids.map((id) => statusOf(cluster(), id)));
    const leaderAfter = after[ids.indexOf(leader)]!;
    process.stdout.write(
      `compaction at ${LEASES + TRIGGER_LEASES} leases, leader ${leader}: ${JSON.stringify({
        stallBeforeCompaction: before[ids.indexOf(leader)]!.eventLoopStall,
        stallAfterCompaction: leaderAfter.eventLoopStall,
        lastCompaction: leaderAfter.lastCompaction,
      })}\n`,
    );
    // Only the leader compacted.
    expect(after.map((s) => s.snapshotIndex > 0)).toEqual(ids.map((id) => id === leader));
    // No election: the same leader and term on every node.
    for (const [i, s] of after.entries()) {
      expect({ id: ids[i], term: s.term, leader: s.leader }).toEqual({
        id: ids[i],
        term: before[i]!.term,
        leader,
      });
    }
    // No lease expired, and the replicas still hold byte-identical state.
    const state = await identicalStateOn(cluster(), ids, LEASES + TRIGGER_LEASES);
    expect(state.leaseCount).toBe(LEASES + TRIGGER_LEASES);
  });

  it('restarts the node that compacted from its own snapshot into the same state', async () => {
    await cluster().kill(leader, 'SIGTERM');
    cluster().start(leader);
    const state = await identicalStateOn(cluster(), ids, LEASES + TRIGGER_LEASES);
    expect(state.leaseCount).toBe(LEASES + TRIGGER_LEASES);
    const restarted = await statusOf(cluster(), leader);
    expect(restarted.snapshotIndex).toBeGreaterThan(LEASES);
    expect(restarted.transport.snapshotsReceived).toBe(0);
  });
});

describe('a follower a little behind the leader’s compaction point', () => {
  // Snapshots every 200 entries; the default tail (5,000 entries) covers the follower's gap.
  const cluster = useLocalCluster('compaction-tail', { size: 3, extraArgs: ['--snapshot-entries', '200'] });

  it('catches up from the entries kept in the tail, not from a snapshot', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const leader = await cluster().waitForLeader();
    await acquireMany(cluster(), leader, 'tail/before', 50, 8);
    const follower = ids.find((id) => id !== leader)!;
    await cluster().kill(follower, 'SIGTERM');
    await acquireMany(cluster(), leader, 'tail/during', 450, 16);
    const leaderStatus = await statusOf(cluster(), leader);
    expect(leaderStatus.snapshotIndex).toBeGreaterThan(0);
    cluster().start(follower);
    const state = await identicalStateOn(cluster(), ids, 500);
    expect(state.leaseCount).toBe(500);
    expect((await statusOf(cluster(), leader)).transport.snapshotsSent).toBe(0);
    expect((await statusOf(cluster(), follower)).transport.snapshotsReceived).toBe(0);
  });
});
