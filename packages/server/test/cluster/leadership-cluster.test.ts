import { request } from 'node:http';
import type { LocalCluster } from '../../src/index';
import { acquireMany, useLocalCluster } from './cluster-helpers';

jest.setTimeout(120_000);

interface WireEvent {
  revision: number;
  scope: string;
  reason: string;
  holder: { leaderId: string; fenceToken: string } | null;
}

/** SseWatcher reads /control/events/leadership from one node and records every batch. */
class SseWatcher {
  readonly batches: Array<{ revision: number; events: WireEvent[] }> = [];
  private buffer = '';
  private readonly req;

  constructor(address: string, prefix: string, fromRevision: number) {
    const [host, port] = address.split(':');
    this.req = request(
      {
        host,
        port: Number(port),
        path: `/control/events/leadership?prefix=${encodeURIComponent(prefix)}&fromRevision=${fromRevision}`,
      },
      (res) => {
        res.on('data', (chunk: Buffer) => {
          this.buffer += chunk.toString();
          let end: number;
          while ((end = this.buffer.indexOf('\n\n')) >= 0) {
            const message = this.buffer.slice(0, end);
            this.buffer = this.buffer.slice(end + 2);
            const data = message.split('\n').find((l) => l.startsWith('data: '));
            if (message.includes('event: leadership') && data !== undefined) {
              this.batches.push(JSON.parse(data.slice(6)) as { revision: number; events: WireEvent[] });
            }
          }
        });
      },
    );
    this.req.on('error', () => undefined);
    this.req.end();
  }

  close(): void {
    this.req.destroy();
  }
}

async function leaderOf(cluster: LocalCluster): Promise<string> {
  return cluster.waitForLeader(20_000);
}

describe('leases on a 3-process cluster across a Raft leader crash', () => {
  const cluster = useLocalCluster('leases', { size: 3 });

  it('loses no lease and expires none early when the leader is killed, and a watcher sees no gap or duplicate', async () => {
    const leader = await leaderOf(cluster());
    const follower = cluster()
      .nodes.map((n) => n.id)
      .find((id) => id !== leader)!;
    const watcher = new SseWatcher(cluster().node(follower).clientAddress, 'held/', 1);
    // The holders renew every 500 ms (TTL 3 s) through whoever leads, following the cluster,
    // starting with the first grant: acquiring 1,000 leases can take longer than one TTL.
    const fences = new Map<string, string>();
    let renewing = true;
    let renewals = 0;
    const renewer = (async () => {
      let target = leader;
      while (renewing) {
        const leases = [...fences].map(([scope, fenceToken]) => ({ scope, fenceToken }));
        if (leases.length === 0) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const res = await cluster()
          .post(target, '/leadership/renew', { leases }, 3000)
          .catch(() => undefined);
        if (res?.status === 200) {
          renewals++;
          const items = (res.body as { leases: Array<{ renewed: boolean }> }).leases;
          const bad = items.find((i) => !i.renewed);
          if (bad !== undefined)
            throw new Error(
              `a live lease was refused a renewal by ${target} at renewal ${renewals}: ${JSON.stringify(bad)}`,
            );
          await new Promise((r) => setTimeout(r, 500));
        } else {
          target = (await cluster().leader()) ?? target;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();

    await acquireMany(cluster(), leader, 'held', 1000, 32, 3000, fences);
    await new Promise((r) => setTimeout(r, 1000));
    await cluster().kill(leader, 'SIGKILL');
    const newLeader = await leaderOf(cluster());
    expect(newLeader).not.toBe(leader);
    // Keep renewing well past one TTL under the new leader.
    await new Promise((r) => setTimeout(r, 4000));
    renewing = false;
    await renewer;
    expect(renewals).toBeGreaterThan(4);

    // Every lease is still held with its original fence.
    const listed = await cluster().get(newLeader, '/control/leaders?prefix=held/&limit=1000');
    const holders = (listed.body as { holders: Array<{ scope: string; fenceToken: string }> }).holders;
    expect(holders).toHaveLength(1000);
    for (const h of holders) expect(h.fenceToken).toBe(fences.get(h.scope));

    // The follower's watcher saw each grant exactly once, in revision order, and no expiry.
    await new Promise((r) => setTimeout(r, 200));
    watcher.close();
    const revisions = watcher.batches.map((b) => b.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(new Set(revisions).size).toBe(revisions.length);
    const events = watcher.batches.flatMap((b) => b.events);
    expect(events.filter((e) => e.reason === 'expired')).toEqual([]);
    expect(events.filter((e) => e.reason === 'granted')).toHaveLength(1000);
    expect(new Set(events.map((e) => e.scope)).size).toBe(1000);
  });
});

describe('contention on a 3-process cluster', () => {
  const cluster = useLocalCluster('contend', { size: 3 });

  it('gives each of 50 scopes to exactly one of 100 contenders, with fences that only grow and stale ones rejected', async () => {
    const leader = await leaderOf(cluster());
    const scopes = Array.from({ length: 50 }, (_, i) => `contended/${i}`);
    const previousFence = new Map<string, bigint>();
    for (let round = 0; round < 3; round++) {
      const attempts = await Promise.all(
        Array.from({ length: 100 }, (_, c) =>
          cluster().post(leader, '/leadership/acquire', {
            scope: scopes[c % 50]!,
            candidateId: `r${round}-c${c}`,
            leaseTtlMs: 30_000,
          }),
        ),
      );
      const winners = new Map<string, { leaderId: string; fenceToken: string }>();
      for (const a of attempts) {
        const body = a.body as {
          granted: boolean;
          lease?: { scope: string; leaderId: string; fenceToken: string };
        };
        if (body.granted) {
          expect(winners.has(body.lease!.scope)).toBe(false);
          winners.set(body.lease!.scope, body.lease!);
        }
      }
      expect(winners.size).toBe(50);
      for (const [scope, lease] of winners) {
        const fence = BigInt(lease.fenceToken);
        const before = previousFence.get(scope);
        if (before !== undefined) {
          expect(fence).toBeGreaterThan(before);
          const stale = await cluster().post(leader, '/fence-token/validate', {
            scope,
            fenceToken: before.toString(),
          });
          expect((stale.body as { valid: boolean }).valid).toBe(false);
        }
        previousFence.set(scope, fence);
        const res = await cluster().post(leader, '/leadership/resign', {
          scope,
          fenceToken: lease.fenceToken,
        });
        expect(res.status).toBe(200);
      }
    }
  });

  it('serves writes and linearizable reads that land on a follower by forwarding them to the leader', async () => {
    const leader = await leaderOf(cluster());
    const follower = cluster()
      .nodes.map((n) => n.id)
      .find((id) => id !== leader)!;
    const acquired = await cluster().post(follower, '/leadership/acquire', {
      scope: 'forwarded/1',
      candidateId: 'f',
      leaseTtlMs: 30_000,
    });
    expect(acquired.status).toBe(200);
    expect(acquired.headers['x-omnirelay-forwarded-to']).toBe(leader);
    expect(acquired.body).toMatchObject({ granted: true, lease: { leaderId: 'f' } });
    const read = await cluster().get(follower, '/control/leaders?scope=forwarded/1');
    expect(read.body).toMatchObject({ leader: { leaderId: 'f' } });
    const refused = await cluster().post(follower, '/leadership/acquire', {
      scope: 'Bad Scope',
      candidateId: 'f',
      leaseTtlMs: 30_000,
    });
    expect(refused.status).toBe(400);
  });

  it('transfers Raft leadership on request, lists members with their lag, and refuses bad transfers', async () => {
    const leader = await leaderOf(cluster());
    const target = cluster()
      .nodes.map((n) => n.id)
      .find((id) => id !== leader)!;
    const other = cluster()
      .nodes.map((n) => n.id)
      .find((id) => id !== leader && id !== target)!;

    // A request already forwarded once is not forwarded again: the follower answers NOT_LEADER itself.
    const looped = await cluster().post(other, '/cluster/transfer-leader', { to: target }, 5000, {
      'x-omnirelay-forwarded-by': 'n9',
    });
    expect(looped.status).toBe(421);
    expect((looped.body as { error: Record<string, string> }).error).toMatchObject({
      code: 'NOT_LEADER',
      leaderHint: leader,
      leaderAddress: cluster().node(leader).clientAddress,
    });
    const unknown = await cluster().post(leader, '/cluster/transfer-leader', { to: 'n9' });
    expect(unknown.status).toBe(400);
    expect((unknown.body as { error: { code: string } }).error.code).toBe('INVALID_TRANSFER_TARGET');

    const started = Date.now();
    const moved = await cluster().post(leader, '/cluster/transfer-leader', { to: target });
    expect(moved.status).toBe(200);
    expect((moved.body as { leader: string }).leader).toBe(target);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await leaderOf(cluster())).toBe(target);

    const listed = await cluster().get(target, '/cluster/members');
    const rows = (
      listed.body as {
        leader: string;
        members: Array<{ id: string; voter: boolean; self: boolean; lagEntries: number }>;
      }
    ).members;
    expect((listed.body as { leader: string }).leader).toBe(target);
    expect(rows.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(rows.every((m) => m.voter && m.lagEntries >= 0)).toBe(true);
    expect(rows.filter((m) => m.self).map((m) => m.id)).toEqual([target]);
  });

  it('hands a scope to a named successor on an operator step-down, with one audit event', async () => {
    const leader = await leaderOf(cluster());
    const first = await cluster().post(leader, '/leadership/acquire', {
      scope: 'global-control',
      candidateId: 'ctl-a',
      leaseTtlMs: 30_000,
    });
    const revision = (first.body as { lease: { revision: number } }).lease.revision;
    const watcher = new SseWatcher(cluster().node(leader).clientAddress, 'global-control', revision + 1);
    const res = await cluster().post(leader, '/leadership/stepdown', {
      scope: 'global-control',
      to: 'ctl-b',
      leaseTtlMs: 30_000,
    });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    watcher.close();
    const events = watcher.batches.flatMap((b) => b.events);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ reason: 'preempted', holder: { leaderId: 'ctl-b' } });
  });
});
