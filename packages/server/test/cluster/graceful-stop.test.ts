import { readFileSync } from 'node:fs';
import type { LocalCluster } from '../../src/index';
import { useLocalCluster, waitUntil } from './cluster-helpers';

jest.setTimeout(60_000);

/** logRecords are the JSON log records of node `id` whose line contains `text`. */
function logRecords(cluster: LocalCluster, id: string, text: string): Array<Record<string, unknown>> {
  return readFileSync(cluster.node(id).logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes(text))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * A planned stop (SIGTERM, as a rolling restart or a Kubernetes pod deletion sends) of the Raft
 * leader hands leadership to a caught-up voter before the node exits, so the others have a
 * leader at the next term without waiting out an election timeout.
 */
describe('SIGTERM to the Raft leader', () => {
  const cluster = useLocalCluster('graceful-stop', {
    size: 3,
    extraArgs: ['--election-timeout-ms', '2000', '--heartbeat-ms', '100'],
  });

  it('hands leadership over before the node stops, so the next leader is at the next term', async () => {
    const leader = await cluster().waitForLeader(30_000);
    const before = await cluster().status(leader);
    const others = ['n1', 'n2', 'n3'].filter((id) => id !== leader);
    const started = performance.now();
    await cluster().kill(leader, 'SIGTERM');
    const exitedMs = performance.now() - started;
    const handed = logRecords(cluster(), leader, 'before stopping');
    expect(handed).toEqual([expect.objectContaining({ term: before!.term + 1 })]);
    const successor = handed[0]!['leader'] as string;
    expect(others).toContain(successor);
    // The successor led before the old leader's process was gone: no election timeout (2 s) was waited.
    await waitUntil('the others to agree on the successor', async () => {
      const statuses = await Promise.all(others.map((id) => cluster().status(id)));
      return statuses.every((s) => s?.leader === successor && s.term === before!.term + 1);
    });
    console.log(
      `leader stopped by SIGTERM: exited after ${Math.round(exitedMs)} ms, handed to ${successor} in ${String(handed[0]!['ms'])} ms`,
    );
    expect(exitedMs).toBeLessThan(10_000);
  });
});

/**
 * When every member stops at once (a Ctrl-C of `npm start`, a StatefulSet deleted), the leader's
 * hand-off has nobody to hand to. It gives up as soon as it sees that, instead of waiting out the
 * hand-off's 3 s bound: here the followers are gone before the leader is told to stop.
 */
describe('SIGTERM to a Raft leader whose voters are all gone', () => {
  const cluster = useLocalCluster('graceful-stop-alone', {
    size: 3,
    // Long enough that the leader still leads (check-quorum) when it is stopped.
    extraArgs: ['--election-timeout-ms', '5000', '--heartbeat-ms', '100'],
  });

  it('stops without waiting for a hand-off, and says why in its log', async () => {
    const leader = await cluster().waitForLeader(30_000);
    const others = ['n1', 'n2', 'n3'].filter((id) => id !== leader);
    for (const id of others) await cluster().kill(id, 'SIGKILL');
    await waitUntil('the leader to see both links down', async () => {
      const res = await cluster().get(leader, '/cluster/members');
      const members = (res.body as { members?: Array<{ id: string; connected: boolean }> }).members ?? [];
      return members.filter((m) => others.includes(m.id)).every((m) => !m.connected);
    });
    await cluster().kill(leader, 'SIGTERM');
    const gaveUp = logRecords(cluster(), leader, 'could not hand Raft leadership over');
    expect(gaveUp).toEqual([
      expect.objectContaining({ err: expect.stringContaining('no other voter is connected') as unknown }),
    ]);
  });
});
