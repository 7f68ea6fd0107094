import { acquireMany, identicalStateOn, useLocalCluster, waitUntil } from './cluster-helpers';

jest.setTimeout(120_000);

interface MembersBody {
  members: Array<{ id: string; voter: boolean }>;
}

describe('changing the membership of a running 3-process cluster', () => {
  const cluster = useLocalCluster('members', { size: 3 });

  it('adds a joining node as a learner, promotes it once caught up, survives a leader kill with 4 voters, and removes it', async () => {
    const leader = await cluster().waitForLeader();
    await acquireMany(cluster(), leader, 'before-join', 100, 16);

    const n4 = await cluster().addJoiningNode();
    cluster().start(n4.id);

    // Bad changes are refused with the core's reasons and change nothing.
    const early = await cluster().post(leader, '/cluster/promote', { id: n4.id });
    expect(early.status).toBe(400);
    expect((early.body as { error: { code: string } }).error.code).toBe('INVALID_CONFIG_CHANGE');
    const badAddress = await cluster().post(leader, '/cluster/add-learner', {
      id: n4.id,
      peerAddress: 'nowhere',
    });
    expect(badAddress.status).toBe(400);

    const added = await cluster().post(leader, '/cluster/add-learner', {
      id: n4.id,
      peerAddress: n4.peerAddress,
    });
    expect({ status: added.status, body: added.body }).toMatchObject({ status: 200 });
    expect((added.body as MembersBody).members).toContainEqual(
      expect.objectContaining({ id: n4.id, voter: false }),
    );

    // The learner catches up from the log (everyone learnt its address from the config entry).
    await identicalStateOn(cluster(), ['n1', 'n2', 'n3', n4.id], 100);
    // Promote once the leader itself sees the learner caught up (its own acknowledgement, not
    // just the learner's applied state, which can run a moment ahead of it), as an operator would.
    await waitUntil('the leader to see n4 caught up', async () => {
      const res = await cluster().get(leader, '/cluster/members');
      const row = (
        res.body as { members: Array<{ id: string; lagEntries: number; match: number }> }
      ).members.find((m) => m.id === n4.id);
      return row !== undefined && row.match > 0 && row.lagEntries <= 10;
    });

    const promoted = await cluster().post(leader, '/cluster/promote', { id: n4.id });
    if (promoted.status !== 200) throw new Error(`promote failed: ${JSON.stringify(promoted.body)}`);
    expect(
      (promoted.body as MembersBody).members
        .filter((m) => m.voter)
        .map((m) => m.id)
        .sort(),
    ).toEqual(['n1', 'n2', 'n3', 'n4']);

    // With 4 voters the quorum is 3: killing the leader leaves 3, and the cluster keeps going.
    await cluster().kill(leader, 'SIGKILL');
    const newLeader = await cluster().waitForLeader(20_000);
    await acquireMany(cluster(), newLeader, 'after-kill', 20, 4);
    const survivors = ['n1', 'n2', 'n3', n4.id].filter((id) => id !== leader);
    await identicalStateOn(cluster(), survivors, 120);

    cluster().start(leader);
    await waitUntil(
      'the old leader to rejoin',
      async () => (await cluster().status(leader))?.leader === newLeader,
    );
    const target =
      newLeader === n4.id
        ? (await cluster().post(newLeader, '/cluster/transfer-leader', {})).body
        : undefined;
    const currentLeader = target === undefined ? newLeader : await cluster().waitForLeader(20_000);
    const removed = await cluster().post(currentLeader, '/cluster/remove', { id: n4.id });
    expect({ status: removed.status, body: removed.body }).toMatchObject({ status: 200 });
    expect((removed.body as MembersBody).members.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3']);
  });
});
