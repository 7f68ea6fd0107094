import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalCluster, NodeStatus } from '../../src/index';
import { useLocalCluster } from './cluster-helpers';

jest.setTimeout(120_000);

/** until polls `check` every 50 ms until it returns a value, for at most `timeoutMs`. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function acquire(
  cluster: LocalCluster,
  id: string,
  scope: string,
  timeoutMs = 5000,
): Promise<{ status: number; fence?: string }> {
  const res = await cluster
    // One session, so a retry of a write that committed after its answer timed out gets its lease back.
    .post(
      id,
      '/leadership/acquire',
      { scope, candidateId: 'w', sessionId: 'lost-disk', leaseTtlMs: 600_000 },
      timeoutMs,
    )
    .catch(() => ({ status: 0, body: undefined }));
  const body = res.body as { granted?: boolean; lease?: { fenceToken: string } } | undefined;
  return { status: res.status, ...(body?.lease === undefined ? {} : { fence: body.lease.fenceToken }) };
}

/** bound waits until `id` sees every voter bound to an incarnation, and returns its status. */
function allBound(cluster: LocalCluster, id: string): Promise<NodeStatus> {
  return until(`${id} to see every voter bound`, 20_000, async () => {
    const s = await cluster.status(id);
    const bound = s?.membership.incarnations ?? {};
    return s !== undefined && s.membership.voters.every((v) => bound[v] !== undefined) ? s : undefined;
  });
}

describe('a member whose data folder was lost (issue 15 item 1)', () => {
  const cluster = useLocalCluster('lost-disk', { size: 3 });

  it('restarts empty, can neither vote nor be counted until it is removed and added again, and fences stay monotonic', async () => {
    const c = cluster();
    const leader = await c.waitForLeader(20_000);
    const [wiped, other] = c.nodes.map((n) => n.id).filter((id) => id !== leader) as [string, string];
    const first = await acquire(c, leader, 'before/1');
    expect(first.status).toBe(200);
    const before = await allBound(c, leader);
    const oldIncarnation = before.membership.incarnations?.[wiped];

    // The member loses its data folder and is restarted with the same command line.
    await c.kill(wiped);
    rmSync(c.node(wiped).dataDir, { recursive: true, force: true });
    c.start(wiped);
    const fresh = await until(`${wiped} to answer`, 20_000, () => c.status(wiped));
    expect(fresh.incarnation).not.toBe(oldIncarnation);
    await until(`${wiped} to follow ${leader}`, 20_000, async () => {
      const s = await c.status(wiped);
      return s?.leader === leader ? true : undefined;
    });

    // With the other follower down, the leader and the wiped member are no quorum: nothing
    // commits (the wiped member's acknowledgements are refused) and no leader can be elected
    // (its votes are refused, and it does not campaign).
    await c.kill(other);
    const commitBefore = (await c.status(leader))!.commit;
    const lonely = await acquire(c, leader, 'during/1', 3000);
    expect(lonely.status).not.toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await c.leader()).toBeUndefined();
    for (const id of [leader, wiped]) {
      const s = await c.status(id);
      expect(s?.commit).toBeLessThanOrEqual(commitBefore);
      expect(s?.role).not.toBe('leader');
    }

    expect((await c.status(leader))?.staleMembers).toEqual({ [wiped]: fresh.incarnation });

    // The other follower returns: a leader again, and writes commit.
    c.start(other);
    let current = await c.waitForLeader(30_000);
    const second = await until('a write to commit again', 20_000, async () => {
      current = (await c.leader()) ?? current;
      const r = await acquire(c, current, 'after/1');
      return r.status === 200 ? r : undefined;
    });
    expect(BigInt(second.fence!)).toBeGreaterThan(BigInt(first.fence!));

    // The operator's replacement path: remove, add as a learner, promote once caught up.
    current = await c.waitForLeader(20_000);
    const removed = await c.post(current, '/cluster/remove', { id: wiped }, 10_000);
    expect(removed.status).toBe(200);
    const added = await c.post(
      current,
      '/cluster/add-learner',
      { id: wiped, peerAddress: c.node(wiped).peerAddress },
      10_000,
    );
    expect(added.status).toBe(200);
    await until(`${wiped} to be promoted`, 30_000, async () => {
      const r = await c.post(current, '/cluster/promote', { id: wiped }, 10_000).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    });
    const after = await allBound(c, current);
    expect(after.membership.incarnations?.[wiped]).toBe(fresh.incarnation);
    expect(after.staleMembers).toEqual({});

    // Now it counts: with the third member down, the re-added one is needed for every quorum.
    const victim = c.nodes.map((n) => n.id).find((id) => id !== wiped && id !== current)!;
    await c.kill(victim);
    const leaderNow = await c.waitForLeader(30_000);
    const third = await until('a write with the re-added member in the quorum', 20_000, async () => {
      const r = await acquire(c, leaderNow, 'readded/1');
      return r.status === 200 ? r : undefined;
    });
    expect(BigInt(third.fence!)).toBeGreaterThan(BigInt(second.fence!));
    const valid = await c.post(leaderNow, '/fence-token/validate', {
      scope: 'before/1',
      fenceToken: first.fence,
    });
    expect(valid.body).toMatchObject({ valid: true });
  });
});

describe('a member whose data folder was lost, restarted with --initial-cluster-state new', () => {
  const cluster = useLocalCluster('lost-disk-new', { size: 3 });

  it('refuses to bootstrap a cluster of its own, because its peers already count on it', async () => {
    const c = cluster();
    const leader = await c.waitForLeader(20_000);
    const wiped = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    await allBound(c, leader);
    await c.kill(wiped);
    rmSync(c.node(wiped).dataDir, { recursive: true, force: true });
    c.start(wiped, ['--initial-cluster-state', 'new']);
    const exited = await until(`${wiped} to exit`, 20_000, () => Promise.resolve(c.node(wiped).exited));
    expect(exited.code).toBe(2);
    const log = readFileSync(c.node(wiped).logFile, 'utf8');
    expect(log).toMatch(
      new RegExp(`refusing to bootstrap a new cluster: n\\d .* already counts on ${wiped}`),
    );
    expect(log).toMatch(/--initial-cluster-state existing/);
    // Nothing was created: the folder can be started `existing` as the message says.
    expect(existsSync(join(c.node(wiped).dataDir, 'CURRENT'))).toBe(false);
  });
});
