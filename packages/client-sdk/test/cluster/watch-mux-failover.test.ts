import { useLocalCluster, waitUntil } from '../../../server/test/cluster/cluster-helpers';
import type { LeadershipEvent } from '../../src/index';
import { createClient } from '../../src/index';
import { sleep } from '../support/solo';

describe('many watches of one client on one shared call, across a node failure (3 real processes)', () => {
  const cluster = useLocalCluster('sdk-watch-mux', { size: 3 });
  jest.setTimeout(60_000);

  it('moves every watch to another node when its node is killed, each with no gap and no duplicate', async () => {
    const leader = await cluster().waitForLeader();
    const followers = cluster().nodes.filter((n) => n.id !== leader);
    const watched = followers[0]!;
    // The watches start on the first endpoint (the follower to kill) and move on in turn.
    const watcher = createClient({
      endpoints: [watched.grpcAddress, followers[1]!.grpcAddress],
      backoffMaxMs: 200,
    });
    const writer = createClient({ endpoints: cluster().nodes.map((n) => n.grpcAddress) });
    const prefixes = ['mf/', 'mf/', 'mf/', 'mf/a', 'mf/a', 'mf/a', 'mf/b', 'mf/b'];
    const controller = new AbortController();
    const seen = prefixes.map(() => [] as LeadershipEvent[]);
    const watching = prefixes.map(async (prefix, i) => {
      for await (const e of watcher.watch(prefix, { signal: controller.signal })) seen[i]!.push(e);
    });
    try {
      await sleep(300);
      const granted: { scope: string; fence: bigint }[] = [];
      const write = async (i: number): Promise<void> => {
        const scope = `mf/${i % 2 === 0 ? 'a' : 'b'}${i}`;
        granted.push({ scope, fence: (await writer.acquire(scope, { ttlMs: 60_000 }))!.fence });
      };
      for (let i = 0; i < 20; i++) await write(i);
      await cluster().kill(watched.id);
      for (let i = 20; i < 40; i++) await write(i);
      cluster().start(watched.id);
      for (let i = 40; i < 50; i++) await write(i);
      const expected = prefixes.map((prefix) => granted.filter((g) => g.scope.startsWith(prefix)));
      await waitUntil(
        'every watcher to catch up',
        () => Promise.resolve(seen.every((s, i) => s.length >= expected[i]!.length)),
        20_000,
      );
      await sleep(300);
      seen.forEach((events, i) => {
        expect(events.map((e) => [e.scope, e.holder?.fence])).toEqual(
          expected[i]!.map((g) => [g.scope, g.fence]),
        );
      });
    } finally {
      controller.abort();
      await Promise.all(watching);
      watcher.close();
      writer.close();
    }
  });
});
