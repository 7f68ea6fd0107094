import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '@omnirelay/server';
import { EXIT } from '../../src/exit-codes';
import { runCliInProcess } from '../support/run-cli';
import { discardCluster } from '../../../server/test/cluster/cluster-helpers';

jest.setTimeout(180_000);

/**
 * FROZEN_MS is how long the slow follower stays stopped: longer than the election timeout (500 ms),
 * so the leader, which stops counting itself once its removal is appended, steps down
 * (check-quorum) before the removal can commit; shorter than the proposal timeout (5 s), so the
 * two others commit the removal while the old leader's proposal still waits.
 */
const FROZEN_MS = 2500;

/** withoutProgress drops the `omnirelay: waiting …` and `asking the other members` notices of --wait. */
function withoutProgress(stderr: string): string {
  return stderr.replace(/omnirelay: (waiting for|the removal of)[^\n]*\n/g, '');
}

/** removeWithWait runs `cluster remove <id> --wait` and expects exit 0, the removal line, and no error. */
async function removeWithWait(endpoints: string, id: string): Promise<void> {
  const argv = ['--endpoints', endpoints, '--timeout', '30000', 'cluster', 'remove', id, '--wait'];
  const r = await runCliInProcess(argv);
  expect({ code: r.code, stderr: withoutProgress(r.stderr) }).toEqual({ code: EXIT.OK, stderr: '' });
  expect(r.stdout).toMatch(new RegExp(`^removed ${id}; every node answering has applied it\\n`));
}

describe('omnirelay cluster remove <leader> --wait, the leader removing itself', () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-remove-leader-'));
  let cluster: LocalCluster | undefined;

  afterEach(async () => {
    if (cluster !== undefined) await discardCluster(cluster);
    cluster = undefined;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function started(name: string): Promise<{ c: LocalCluster; leader: string; endpoints: string }> {
    const c = (cluster = await LocalCluster.create({ size: 3, dataRoot: join(root, name), basePort: 0 }));
    c.startAll();
    const leader = await c.waitForLeader(30_000);
    return { c, leader, endpoints: c.nodes.map((n) => n.grpcAddress).join(',') };
  }

  it('returns 0 once the others elected a new leader without it', async () => {
    const { c, leader, endpoints } = await started('plain');
    await removeWithWait(endpoints, leader);
    const other = c.nodes.find((n) => n.id !== leader)!.id;
    expect((await c.status(other))!.membership.voters).not.toContain(leader);
  });

  it('returns 0 when the leader stepped down before it saw its removal commit (the flake: exit 3, NO_QUORUM)', async () => {
    const { c, leader, endpoints } = await started('slow-follower');
    const slow = c.nodes.find((n) => n.id !== leader)!;
    const pid = slow.process!.pid!;
    process.kill(pid, 'SIGSTOP');
    let resumed = false;
    const resume = setTimeout(() => {
      resumed = true;
      process.kill(pid, 'SIGCONT');
    }, FROZEN_MS);
    try {
      await removeWithWait(endpoints, leader);
      expect((await c.status(slow.id, 3000))!.membership.voters).not.toContain(leader);
    } finally {
      clearTimeout(resume);
      if (!resumed) process.kill(pid, 'SIGCONT');
    }
  });
});
