import { readFileSync } from 'node:fs';
import { useLocalCluster, waitUntil } from './cluster-helpers';

jest.setTimeout(60_000);

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
    const log = readFileSync(cluster().node(leader).logFile, 'utf8');
    const handed = log
      .split('\n')
      .filter((l) => l.includes('before stopping'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
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
