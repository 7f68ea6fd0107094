import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../../src/index';

jest.setTimeout(60_000);

/**
 * A leader paused longer than a lease's TTL (a GC pause, SIGSTOP, a slow disk) must not, on
 * resuming, expire leases whose holders kept renewing while it was stopped: their renewals are
 * waiting in its sockets (etcd issue 15247). One node, so no election can hide the case.
 */
describe('a leader stopped (SIGSTOP) for longer than a lease', () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-stall-'));
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await LocalCluster.create({ size: 1, dataRoot: root, basePort: 0, logLevel: 'info' });
    cluster.startAll();
  });

  afterAll(async () => {
    const pid = cluster.node('n1').process?.pid;
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
    await cluster.stopAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps every lease whose holder renewed throughout, and expires the one that stopped renewing', async () => {
    await cluster.waitForLeader();
    await new Promise((r) => setTimeout(r, 300)); // the take-office grace commits
    const acquire = async (scope: string): Promise<string> => {
      const res = await cluster.post('n1', '/leadership/acquire', {
        scope,
        candidateId: 'holder',
        leaseTtlMs: 600,
      });
      return (res.body as { lease: { fenceToken: string } }).lease.fenceToken;
    };
    const alive = await acquire('stall/alive');
    const dead = await acquire('stall/dead');

    // The holder of stall/alive renews every 100 ms, whatever happens; its requests queue in the
    // server's socket while the server is stopped. Nobody renews stall/dead.
    let renewing = true;
    const renewer = (async () => {
      while (renewing) {
        await cluster
          .post('n1', '/leadership/renew', { leases: [{ scope: 'stall/alive', fenceToken: alive }] }, 10_000)
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));

    const pid = cluster.node('n1').process!.pid!;
    process.kill(pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 1500)); // 2.5 × the TTL
    process.kill(pid, 'SIGCONT');
    await new Promise((r) => setTimeout(r, 2500)); // a grace (2 × 500 ms + 250 ms skew) and then some
    renewing = false;
    await renewer;

    const validate = async (scope: string, fenceToken: string): Promise<boolean> => {
      const res = await cluster.post('n1', '/fence-token/validate', { scope, fenceToken });
      return (res.body as { valid: boolean }).valid;
    };
    expect(await validate('stall/alive', alive)).toBe(true);
    // The mechanism delays expiry; it does not disable it.
    expect(await validate('stall/dead', dead)).toBe(false);
  });
});
