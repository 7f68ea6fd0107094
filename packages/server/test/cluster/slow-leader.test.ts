import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../../src/index';
import type { NodeStatus } from '../../src/index';

jest.setTimeout(60_000);

/** ELECTION_TIMEOUT_MS is the nodes' base election timeout: randomized in [1 s, 2 s) per follower. */
const ELECTION_TIMEOUT_MS = 1000;
/** FIRST_PAUSE_MS is under every follower's timeout (no election), long enough to stretch it. */
const FIRST_PAUSE_MS = 900;
/**
 * SECOND_PAUSE_MS is longer than the shortest plain timeout (1 s), so without the stretch a
 * follower whose timeout was drawn under it campaigns; with it each waits at least twice the first
 * silence (about 1.8 s).
 */
const SECOND_PAUSE_MS = 1300;
/** POLL_MS_MAX bounds each wait for the cluster to show something; POLL_EVERY_MS spaces the reads. */
const POLL_MS_MAX = 10_000;
const POLL_EVERY_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A leader whose process is paused (SIGSTOP: no connection resets, as when it waits for a core or
 * sits in a long GC pause) and then goes on must not be deposed by its next pause of about the
 * same length: its followers remember the silence and wait at least twice as long (issue 20's
 * scale runs lost 94,000 leases to three such elections in 13 s).
 */
describe('followers of a leader that paused and went on', () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-slow-leader-'));
  let cluster: LocalCluster;
  let paused: number | undefined;

  beforeAll(async () => {
    cluster = await LocalCluster.create({
      size: 3,
      dataRoot: root,
      basePort: 0,
      logLevel: 'debug',
      extraArgs: ['--election-timeout-ms', String(ELECTION_TIMEOUT_MS), '--heartbeat-ms', '100'],
    });
    cluster.startAll();
  });

  afterAll(async () => {
    if (paused !== undefined) process.kill(paused, 'SIGCONT');
    await cluster.stopAll();
    rmSync(root, { recursive: true, force: true });
  });

  /** followers reads both followers' status, polling until each answers and names `leader`. */
  async function followers(leader: string): Promise<NodeStatus[]> {
    const ids = ['n1', 'n2', 'n3'].filter((id) => id !== leader);
    const deadline = Date.now() + POLL_MS_MAX;
    for (;;) {
      const all = await Promise.all(ids.map((id) => cluster.status(id)));
      if (all.every((s) => s !== undefined && s.leader === leader)) return all as NodeStatus[];
      if (Date.now() > deadline) {
        const seen = all.map((s, i) =>
          s === undefined ? `${ids[i]} no answer` : `${s.id} ${s.role} term ${s.term} leader ${s.leader}`,
        );
        throw new Error(`the followers no longer follow ${leader}: ${seen.join('; ')}`);
      }
      await sleep(POLL_EVERY_MS);
    }
  }

  async function pause(pid: number, ms: number): Promise<void> {
    process.kill(pid, 'SIGSTOP');
    paused = pid;
    await sleep(ms);
    process.kill(pid, 'SIGCONT');
    paused = undefined;
  }

  it('stretches their election timeout, shows it, and keeps the leader through a longer pause', async () => {
    const leader = await cluster.waitForLeader();
    const before = await followers(leader);
    const term = before[0]!.term;
    expect(before.map((s) => s.electionStretchMs)).toEqual([0, 0]);
    const pid = cluster.node(leader).process!.pid!;

    await pause(pid, FIRST_PAUSE_MS);
    const deadline = Date.now() + POLL_MS_MAX;
    let stretched = await followers(leader);
    while (!stretched.every((s) => s.electionStretchMs > 0) && Date.now() < deadline) {
      await sleep(POLL_EVERY_MS);
      stretched = await followers(leader);
    }
    // A silence of g ms stretches by 2g − 1 s: about 0.6–0.8 s after 0.9 s.
    for (const s of stretched) {
      expect(s.term).toBe(term);
      expect(s.electionStretchMs).toBeGreaterThanOrEqual(400);
      expect(s.electionStretchMs).toBeLessThanOrEqual(3 * ELECTION_TIMEOUT_MS);
    }
    const metrics = await cluster.get(stretched[0]!.id, '/metrics');
    const gauge = /^omnirelay_raft_election_stretch_seconds (\S+)$/m.exec(String(metrics.body));
    expect(Number(gauge?.[1])).toBeGreaterThan(0);

    await pause(pid, SECOND_PAUSE_MS);
    await sleep(500); // anything a follower started in the pause has finished by now
    const after = await followers(leader);
    expect(after.map((s) => s.term)).toEqual([term, term]);
    expect(await cluster.leader()).toBe(leader);
  });
});
