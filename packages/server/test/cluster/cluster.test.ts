import { acquireMany, identicalStateOn, useLocalCluster, waitUntil } from './cluster-helpers';

jest.setTimeout(120_000);

describe('a 3-process cluster on loopback', () => {
  // Snapshots every 200 entries with no tail kept, so a node that is down for a while falls
  // behind the compaction point.
  const cluster = useLocalCluster('cluster3', {
    size: 3,
    extraArgs: ['--snapshot-entries', '200', '--snapshot-tail-entries', '0'],
  });
  let fences = new Map<string, string>();

  it('elects one leader and applies 1,000 acquisitions on all three into byte-identical state', async () => {
    const leader = await cluster().waitForLeader();
    fences = await acquireMany(cluster(), leader, 'shard/orders', 1000, 32);
    expect(fences.size).toBe(1000);
    await identicalStateOn(cluster(), ['n1', 'n2', 'n3'], 1000);
  });

  it('survives kill -9 of the leader with every acknowledged lease, and the restarted node catches up by snapshot', async () => {
    const oldLeader = await cluster().waitForLeader();
    await cluster().kill(oldLeader, 'SIGKILL');
    const survivors = cluster()
      .nodes.map((n) => n.id)
      .filter((id) => id !== oldLeader);
    const newLeader = await cluster().waitForLeader();
    expect(survivors).toContain(newLeader);
    // Every lease acknowledged before the kill is still held, with its fence.
    for (const [scope, fence] of [...fences].slice(0, 50)) {
      const res = await cluster().get(newLeader, `/control/leaders?scope=${encodeURIComponent(scope)}`);
      expect((res.body as { leader: { fenceToken: string } | null }).leader?.fenceToken).toBe(fence);
    }
    // Enough new entries that the killed node is behind the new leader's compaction point.
    await acquireMany(cluster(), newLeader, 'shard/payments', 500, 32);
    await identicalStateOn(cluster(), survivors, 1500);
    cluster().start(oldLeader);
    const state = await identicalStateOn(cluster(), ['n1', 'n2', 'n3'], 1500);
    expect(state.leaseCount).toBe(1500);
    const restarted = await cluster().status(oldLeader);
    expect(restarted?.transport.snapshotsReceived).toBeGreaterThanOrEqual(1);
  });
});

describe('a 5-process cluster losing and regaining its quorum', () => {
  const cluster = useLocalCluster('cluster5', { size: 5 });

  it('keeps committing with 2 of 5 killed, fails with NO_QUORUM with 3 killed, and resumes when one returns', async () => {
    const leader = await cluster().waitForLeader();
    const followers = cluster()
      .nodes.map((n) => n.id)
      .filter((id) => id !== leader);
    await cluster().kill(followers[0]!, 'SIGKILL');
    await cluster().kill(followers[1]!, 'SIGKILL');
    await acquireMany(cluster(), leader, 'q', 50, 8);

    await cluster().kill(followers[2]!, 'SIGKILL');
    const started = Date.now();
    const res = await cluster().post(
      leader,
      '/leadership/acquire',
      { scope: 'lost', candidateId: 'c', leaseTtlMs: 5000 },
      15_000,
    );
    const elapsedMs = Date.now() - started;
    expect(res.status).toBe(503);
    const error = (res.body as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('NO_QUORUM');
    expect(error.message).toMatch(/no quorum/);
    // The default proposal deadline is 5 s; the answer comes at it, not long after.
    expect(elapsedMs).toBeLessThan(8_000);

    cluster().start(followers[2]!);
    const newLeader = await cluster().waitForLeader(20_000);
    await waitUntil(
      'a write to commit again',
      async () => {
        const r = await cluster()
          // One session, so a retry of a write that committed after a failed answer gets its lease back.
          .post(newLeader, '/leadership/acquire', {
            scope: 'back',
            candidateId: 'c',
            sessionId: 'back-writer',
            leaseTtlMs: 5000,
          })
          .catch(() => undefined);
        return r?.status === 200;
      },
      20_000,
    );
  });
});
