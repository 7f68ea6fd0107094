import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { FenceGuard } from '@omnirelay/client-sdk';
import { LocalCluster } from '../../src/local-cluster/local-cluster';
import { discardCluster } from '../cluster/cluster-helpers';
import { runForceNewClusterCommand } from '../../src/restore/restore-command';
import type { Run } from '../support/recovery';
import { acquire as acquireWithTtl, cli } from '../support/recovery';

jest.setTimeout(300_000);

const SCOPES = 12;
const LEASE_TTL_MS = 300_000;
const NEW_CLUSTER_ID = 'omnirelay-forced';
const BUMP = 1000;
/** REFUSAL_WAIT_MS bounds the wait for an old member's refusal to show in the logs. */
const REFUSAL_WAIT_MS = 30_000;

async function force(argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runForceNewClusterCommand(argv, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { code, out: out.join(''), err: err.join('') };
}

function acquire(cluster: LocalCluster, id: string, scope: string, candidateId: string): Promise<bigint> {
  return acquireWithTtl(cluster, id, scope, candidateId, LEASE_TTL_MS);
}

async function fenceOf(cluster: LocalCluster, id: string, scope: string): Promise<bigint | undefined> {
  const res = await cluster.get(id, `/control/leaders?scope=${encodeURIComponent(scope)}`);
  expect(res.status).toBe(200);
  const holder = (res.body as { leader: { fenceToken: string } | null }).leader;
  return holder === null ? undefined : BigInt(holder.fenceToken);
}

/**
 * storeContents is every key and value of a store, to show that a refused command changed
 * nothing in it (LevelDB itself rewrites its files on any open, so files are not compared).
 */
async function storeContents(dir: string): Promise<string[]> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    const out: string[] = [];
    for await (const [key, value] of db.iterator()) out.push(`${key}=${Buffer.from(value).toString('hex')}`);
    return out;
  } finally {
    await db.close();
  }
}

async function waitForLine(file: string, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (pattern.test(readFileSync(file, 'utf8'))) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

describe('omnirelay-server force-new-cluster on a real 3-node cluster', () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-force-'));
  let cluster: LocalCluster | undefined;

  afterAll(async () => {
    if (cluster !== undefined) await discardCluster(cluster);
    rmSync(root, { recursive: true, force: true });
  });

  it('recovers from one survivor with every lease and higher fences, refuses old members, and grows back to 3', async () => {
    const c = (cluster = await LocalCluster.create({
      size: 3,
      dataRoot: join(root, 'cluster'),
      basePort: 0,
      logLevel: 'info',
    }));
    c.startAll();
    const leader = await c.waitForLeader(60_000);
    const guard = new FenceGuard();
    const fences = new Map<string, bigint>();
    for (let i = 0; i < SCOPES; i++) {
      const scope = `forced/${i}`;
      const fence = await acquire(c, leader, scope, `worker-${i}`);
      guard.admit(scope, fence);
      fences.set(scope, fence);
    }
    // The survivor holds everything committed before the loss (a quorum acknowledged it).
    const survivor = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    for (let i = 0; i < 100; i++) {
      const s = await c.status(survivor);
      const l = await c.status(leader);
      if (s !== undefined && l !== undefined && s.applied >= l.commit) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const oldLastIndex = Math.max(
      ...(await Promise.all(c.nodes.map(async (n) => (await c.status(n.id))!.lastIndex))),
    );
    const survivorDir = c.node(survivor).dataDir;
    const forceArgs = [
      '--data-dir',
      survivorDir,
      '--id',
      survivor,
      '--cluster-id',
      NEW_CLUSTER_ID,
      '--bump-index',
      String(BUMP),
    ];

    // Refused while the survivor runs (its lock), one line.
    const locked = await force(forceArgs);
    expect(locked.code).toBe(2);
    expect(locked.err.trim().split('\n')).toHaveLength(1);
    expect(locked.err).toMatch(/in use by a running process.*stop the node first/);

    // The majority is lost for good: processes killed, data folders destroyed (one copy kept, to
    // show that an old member cannot come back by accident).
    const lost = c.nodes.map((n) => n.id).filter((id) => id !== survivor);
    const oldCopy = join(root, 'old-member-copy');
    for (const id of lost) await c.kill(id);
    cpSync(c.node(lost[0]!).dataDir, oldCopy, { recursive: true });
    for (const id of lost) rmSync(c.node(id).dataDir, { recursive: true, force: true });
    await c.kill(survivor, 'SIGTERM');

    // Bad input: not a member's folder, a non-voter id, the old cluster id, no --bump-index.
    const notStore = join(root, 'not-a-store');
    mkdirSync(notStore);
    writeFileSync(join(notStore, 'notes.txt'), 'x');
    const bad: [string[], RegExp][] = [
      [
        ['--data-dir', notStore, '--id', survivor, '--cluster-id', NEW_CLUSTER_ID, '--bump-index', '1'],
        /holds no Raft store/,
      ],
      [
        ['--data-dir', survivorDir, '--id', 'n9', '--cluster-id', NEW_CLUSTER_ID, '--bump-index', '1'],
        /--id n9 is not a voter/,
      ],
      [
        ['--data-dir', survivorDir, '--id', survivor, '--cluster-id', 'omnirelay', '--bump-index', '1'],
        /must name the NEW cluster/,
      ],
      [
        ['--data-dir', survivorDir, '--id', survivor, '--cluster-id', NEW_CLUSTER_ID, '--bump-index', '-3'],
        /--bump-index must be a whole number/,
      ],
      [['--data-dir', survivorDir, '--id', survivor, '--cluster-id', NEW_CLUSTER_ID], /--bump-index/],
    ];
    const stopped = await storeContents(survivorDir);
    for (const [argv, message] of bad) {
      const r = await force(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    }
    expect(await storeContents(survivorDir)).toEqual(stopped);
    expect(readFileSync(join(notStore, 'notes.txt'), 'utf8')).toBe('x');
    expect(readdirSync(root).filter((f) => f.includes('force-new-cluster'))).toEqual([]);

    const forced = await force(forceArgs);
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(
      new RegExp(`^forced a new cluster ${NEW_CLUSTER_ID} from ${survivor} \\(was omnirelay\\)`),
    );
    expect(forced.err).toMatch(/force-new-cluster: rebuilt the state of/);
    const aside = /the original folder is (\S+);/.exec(forced.out)![1]!;
    expect(await storeContents(aside)).toEqual(stopped);

    c.start(survivor, ['--cluster-id', NEW_CLUSTER_ID]);
    expect(await c.waitForLeader(60_000)).toBe(survivor);
    const status = (await c.status(survivor))!;
    expect(status.membership).toMatchObject({ voters: [survivor], learners: [] });
    expect(status.snapshotIndex).toBeGreaterThanOrEqual(oldLastIndex + BUMP - 1);

    // Every lease is there with its fence; the guard that saw the old cluster still admits them.
    for (const [scope, fence] of fences) {
      expect(await fenceOf(c, survivor, scope)).toBe(fence);
      expect(guard.check(scope, fence)).toBe(true);
    }
    // New holders get fences above every fence the old cluster could have granted.
    const scope = 'forced/0';
    const resigned = await c.post(survivor, '/leadership/resign', {
      scope,
      fenceToken: String(fences.get(scope)),
    });
    expect(resigned.status).toBe(200);
    const fresh = await acquire(c, survivor, scope, 'new-holder');
    expect(fresh > BigInt(oldLastIndex + BUMP)).toBe(true);
    guard.admit(scope, fresh);
    expect(() => guard.admit(scope, fences.get(scope)!)).toThrow(/rejected/);

    // An old member started from its old folder and cluster id is refused, with what to do.
    const old = lost[0]!;
    c.start(old, ['--data-dir', oldCopy]);
    const survivorLog = c.node(survivor).logFile;
    expect(await waitForLine(survivorLog, /refused a peer of another cluster/, REFUSAL_WAIT_MS)).toBe(true);
    expect(
      await waitForLine(
        c.node(old).logFile,
        /force-new-cluster\), empty the sender's --data-dir/,
        REFUSAL_WAIT_MS,
      ),
    ).toBe(true);
    await c.kill(old);
    expect((await c.status(survivor))!.membership).toMatchObject({ voters: [survivor], learners: [] });

    // Grow back to 3: empty folders, the new cluster id, add-learner and promote with --wait.
    const endpoints = c.nodes.map((n) => n.grpcAddress).join(',');
    for (const id of lost) {
      c.start(id, ['--cluster-id', NEW_CLUSTER_ID, '--join', 'true']);
      const n = c.node(id);
      const added = await cli([
        '--endpoints',
        endpoints,
        '--timeout',
        '60000',
        'cluster',
        'add-learner',
        id,
        n.peerAddress,
        '--client-address',
        n.clientAddress,
        '--grpc-address',
        n.grpcAddress,
        '--wait',
      ]);
      expect({ code: added.code, err: added.err }).toMatchObject({ code: 0 });
      const promoted = await cli([
        '--endpoints',
        endpoints,
        '--timeout',
        '60000',
        'cluster',
        'promote',
        id,
        '--wait',
      ]);
      expect({ code: promoted.code, err: promoted.err }).toMatchObject({ code: 0 });
    }
    const voters = (await c.status(survivor))!.membership.voters;
    expect([...voters].sort()).toEqual(c.nodes.map((n) => n.id).sort());
    // The grown-back members hold the recovered leases.
    for (const id of lost) {
      for (let i = 0; i < 100 && (await c.status(id))?.applied !== (await c.status(survivor))!.commit; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const res = await c.get(id, `/control/leaders?scope=forced/1`);
      expect(res.status).toBe(200);
    }
  });
});
