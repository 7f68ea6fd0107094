import { createClient } from '@omnirelay/client-sdk';
import type { LocalCluster } from '@omnirelay/server';
import { EXIT } from '../../src/exit-codes';
import { expectOneErrorLine, runCliInProcess } from '../support/run-cli';
import { useLocalCluster } from '../support/local-cluster';

jest.setTimeout(120_000);

/** MembersDocument is the part of a membership command's JSON output the tests read. */
interface MembersDocument {
  change: { type: string; id: string };
  waited: boolean;
  leader: string;
  members: { id: string; voter: boolean; match: number; lagEntries: number }[];
}

/** membershipOf is each node's view of the configuration: `id:voter|learner`, sorted, per answering node. */
async function membershipOf(cluster: LocalCluster, ids: readonly string[]): Promise<string[]> {
  const views = await Promise.all(
    ids.map(async (id) => {
      const s = await cluster.status(id, 3000);
      if (s === undefined) return `${id}: no answer`;
      const members = [
        ...s.membership.voters.map((v) => `${v}:voter`),
        ...s.membership.learners.map((l) => `${l}:learner`),
      ].sort();
      return `${id}: ${members.join(',')}`;
    }),
  );
  return views;
}

describe('membership changes through omnirelay cluster against a real 3-node cluster', () => {
  const cluster = useLocalCluster('membership');
  let endpoints = '';

  beforeAll(() => {
    endpoints = cluster()
      .nodes.map((n) => n.grpcAddress)
      .join(',');
  });

  const cli = (...argv: string[]): ReturnType<typeof runCliInProcess> =>
    runCliInProcess(['--endpoints', endpoints, '--timeout', '30000', ...argv]);

  it('adds a joining node as a learner, promotes it, reaches it as leader through the others, and removes it, each with --wait', async () => {
    const n4 = await cluster().addJoiningNode();
    cluster().start(n4.id);

    const added = await cli(
      'cluster',
      'add-learner',
      n4.id,
      n4.peerAddress,
      '--client-address',
      n4.clientAddress,
      '--grpc-address',
      n4.grpcAddress,
      '--wait',
      '-o',
      'json',
    );
    expect({ code: added.code, stderr: added.stderr }).toMatchObject({ code: 0 });
    const addedDoc = JSON.parse(added.stdout) as MembersDocument;
    expect(addedDoc.change).toEqual({ type: 'addLearner', id: n4.id });
    expect(addedDoc.waited).toBe(true);
    const learner = addedDoc.members.find((m) => m.id === n4.id);
    expect(learner).toMatchObject({ voter: false });
    expect(learner!.match).toBeGreaterThan(0);

    // GET /control/peers on the leader shows the learner with the addresses it was added with.
    const leader = await cluster().waitForLeader(20_000);
    const peers = await cluster().get(leader, `/control/peers?role=learner`);
    expect(peers.status).toBe(200);
    expect(peers.body).toMatchObject({
      answeredBy: leader,
      peers: [
        {
          id: n4.id,
          role: 'learner',
          addresses: { peer: n4.peerAddress, client: n4.clientAddress, grpc: n4.grpcAddress },
          link: 'up',
          healthy: true,
        },
      ],
    });
    const badFilter = await cluster().get(leader, '/control/peers?role=boss');
    expect(badFilter).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT' } } });

    const promoted = await cli('cluster', 'promote', n4.id, '--wait');
    expect({ code: promoted.code, stderr: promoted.stderr }).toMatchObject({ code: 0 });
    expect(promoted.stdout).toMatch(new RegExp(`^promoted ${n4.id} to voter; caught up\n`));
    expect(promoted.stdout).toMatch(new RegExp(`\n${n4.id} +(voter|leader) `));

    // n1..n3 were started before n4 existed, so only the replicated membership tells them n4's
    // client addresses: with n4 leading, a write sent to n1 alone must still reach it.
    const moved = await cli('cluster', 'transfer-leader', '--to', n4.id);
    expect({ code: moved.code, stderr: moved.stderr }).toEqual({ code: 0, stderr: '' });
    const status = await cluster().status('n1', 3000);
    expect(status?.membership).toMatchObject({
      clientAddresses: { [n4.id]: n4.clientAddress },
      grpcAddresses: { [n4.id]: n4.grpcAddress },
    });
    const viaN1 = createClient({ endpoints: [cluster().node('n1').grpcAddress], callTimeoutMs: 20_000 });
    try {
      const lease = await viaN1.acquire('shard/members/1', { ttlMs: 30_000, candidateId: 'via-n1' });
      expect(lease?.candidateId).toBe('via-n1');
      await lease?.resign();
    } finally {
      viaN1.close();
    }
    const http = await cluster().post('n1', '/leadership/acquire', {
      scope: 'shard/members/2',
      candidateId: 'via-n1-http',
      leaseTtlMs: 30_000,
    });
    expect(http.status).toBe(200);

    // Hand leadership back before the removal (the leader removing itself: remove-leader.test.ts).
    const back = await cli('cluster', 'transfer-leader', '--to', 'n1');
    expect({ code: back.code, stderr: back.stderr }).toEqual({ code: 0, stderr: '' });
    const removed = await cli('cluster', 'remove', n4.id, '--wait');
    expect({ code: removed.code, stderr: removed.stderr }).toMatchObject({ code: 0 });
    expect(removed.stdout).toMatch(new RegExp(`^removed ${n4.id}; every node answering has applied it\n`));
    // --wait returned only once every other node applied the removal.
    expect(await membershipOf(cluster(), ['n1', 'n2', 'n3'])).toEqual([
      'n1: n1:voter,n2:voter,n3:voter',
      'n2: n1:voter,n2:voter,n3:voter',
      'n3: n1:voter,n2:voter,n3:voter',
    ]);
    await cluster().kill(n4.id, 'SIGTERM');
  });

  describe('bad input is one line, the exit code from the table, and changes nothing', () => {
    const cases: [string, string[], number, RegExp][] = [
      ['promote of an unknown id', ['cluster', 'promote', 'nobody'], EXIT.USAGE, /nobody is not a learner/],
      [
        'add-learner of an existing id',
        ['cluster', 'add-learner', 'n2', '127.0.0.1:1'],
        EXIT.USAGE,
        /n2 is already a member/,
      ],
      [
        'a malformed peer address',
        ['cluster', 'add-learner', 'n9', 'nowhere'],
        EXIT.USAGE,
        /<peer-address> "nowhere" is not host:port/,
      ],
      ['remove of an unknown id', ['cluster', 'remove', 'nobody'], EXIT.USAGE, /nobody is not a member/],
      ['a missing argument', ['cluster', 'promote'], EXIT.USAGE, /missing required argument 'id'/],
    ];
    it.each(cases)('refuses %s', async (_name, argv, code, message) => {
      const before = await membershipOf(cluster(), ['n1', 'n2', 'n3']);
      const r = await cli(...argv);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
      expectOneErrorLine(r.stderr);
      expect(r.stderr).toMatch(message);
      expect(await membershipOf(cluster(), ['n1', 'n2', 'n3'])).toEqual(before);
    });
  });

  it('refuses to remove the last voter, and the cluster keeps that voter', async () => {
    // Shrink to the leader alone (removing followers keeps the leader), then try to remove it.
    const leader = await cluster().waitForLeader(20_000);
    for (const id of ['n1', 'n2', 'n3'].filter((x) => x !== leader)) {
      const r = await cli('cluster', 'remove', id);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    }
    const before = await membershipOf(cluster(), [leader]);
    expect(before).toEqual([`${leader}: ${leader}:voter`]);
    const r = await runCliInProcess([
      '--endpoints',
      cluster().node(leader).grpcAddress,
      'cluster',
      'remove',
      leader,
    ]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: EXIT.USAGE, stdout: '' });
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(/cannot remove the last voter/);
    expect(await membershipOf(cluster(), [leader])).toEqual(before);
  });
});
