import { useLocalCluster, waitUntil } from '../../../server/test/cluster/cluster-helpers';
import type { LeadershipEvent } from '../../src/index';
import { createClient } from '../../src/index';
import { sleep } from '../support/solo';
import { startTcpProxy } from '../support/tcp-proxy';

describe('watch resume across a node restart (3 real processes)', () => {
  const cluster = useLocalCluster('sdk-watch', { size: 3 });
  jest.setTimeout(60_000);

  it('delivers every holder change exactly once, in order, while the watched node is killed and restarted', async () => {
    const leader = await cluster().waitForLeader();
    // Watch through one follower only, so the watch must survive that very node's restart.
    const watched = cluster().nodes.find((n) => n.id !== leader)!;
    const others = cluster()
      .nodes.filter((n) => n.id !== watched.id)
      .map((n) => n.grpcAddress);
    const watcher = createClient({ endpoints: [watched.grpcAddress], backoffMaxMs: 200 });
    const writer = createClient({ endpoints: others });
    const controller = new AbortController();
    const seen: LeadershipEvent[] = [];
    const resumes: bigint[] = [];
    const watching = (async () => {
      for await (const e of watcher.watch('wr/', {
        signal: controller.signal,
        onResume: (r) => resumes.push(r.fromRevision),
      })) {
        seen.push(e);
      }
    })();
    try {
      await sleep(200);
      const granted: bigint[] = [];
      const write = async (i: number): Promise<void> => {
        const lease = await writer.acquire(`wr/${i}`, { ttlMs: 60_000 });
        granted.push(lease!.fence);
      };
      for (let i = 0; i < 20; i++) await write(i);
      await cluster().kill(watched.id);
      for (let i = 20; i < 40; i++) await write(i);
      cluster().start(watched.id);
      for (let i = 40; i < 60; i++) await write(i);
      await waitUntil('the watcher to catch up', () => Promise.resolve(seen.length >= 60), 20_000);
      await sleep(300);
      const revisions = seen.map((e) => e.revision);
      expect(new Set(revisions).size).toBe(revisions.length);
      expect([...revisions].sort((a, b) => (a < b ? -1 : 1))).toEqual(revisions);
      expect(seen.map((e) => e.holder?.fence)).toEqual(granted);
      expect(seen.every((e) => e.reason === 'granted')).toBe(true);
      expect(resumes.length).toBeGreaterThan(0);
    } finally {
      controller.abort();
      await watching;
      watcher.close();
      writer.close();
    }
  });

  it('moves to another node when the watched path goes silent (no reset), with no gap or duplicate', async () => {
    const leader = await cluster().waitForLeader();
    const [first, second] = cluster().nodes.filter((n) => n.id !== leader);
    const proxy = await startTcpProxy(first!.grpcAddress);
    // Pings every 500 ms notice the silent path; without them the watch would wait forever.
    const watcher = createClient({
      endpoints: [proxy.address, second!.grpcAddress],
      keepaliveMs: 500,
      backoffMaxMs: 200,
    });
    const writer = createClient({ endpoints: cluster().nodes.map((n) => n.grpcAddress) });
    const controller = new AbortController();
    const seen: LeadershipEvent[] = [];
    const watching = (async () => {
      for await (const e of watcher.watch('silent/', { signal: controller.signal })) seen.push(e);
    })();
    try {
      await sleep(200);
      const granted: bigint[] = [];
      for (let i = 0; i < 30; i++) {
        if (i === 10) proxy.cut();
        granted.push((await writer.acquire(`silent/${i}`, { ttlMs: 60_000 }))!.fence);
      }
      await waitUntil(
        'the watcher to catch up through the other node',
        () => Promise.resolve(seen.length >= 30),
        20_000,
      );
      await sleep(200);
      expect(seen.map((e) => e.holder?.fence)).toEqual(granted);
    } finally {
      controller.abort();
      await watching;
      watcher.close();
      writer.close();
      await proxy.close();
    }
  });
});
