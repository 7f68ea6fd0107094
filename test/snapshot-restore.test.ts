import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FenceGuard } from '@omnirelay/client-sdk';
import { LocalCluster } from '@omnirelay/server';
import { runRestoreCommand } from '../packages/server/src/restore/restore-command';
import { discardCluster } from '../packages/server/test/cluster/cluster-helpers';
import { acquire as acquireWithTtl, cli } from '../packages/server/test/support/recovery';

jest.setTimeout(300_000);

const SCOPES = 30;
const LEASE_TTL_MS = 300_000;
/** LOAD_WRITES bounds the writes the background load makes while the backup is taken. */
const LOAD_WRITES = 400;

async function restore(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines = { out: [] as string[], err: [] as string[] };
  const code = await runRestoreCommand(argv, {
    stdout: (t) => lines.out.push(t),
    stderr: (t) => lines.err.push(t),
  });
  return { code, out: lines.out.join(''), err: lines.err.join('') };
}

interface Holder {
  readonly scope: string;
  readonly leader: { readonly leaderId: string; readonly fenceToken: string } | null;
}

async function holderOf(cluster: LocalCluster, id: string, scope: string): Promise<Holder> {
  const res = await cluster.get(id, `/control/leaders?scope=${encodeURIComponent(scope)}`);
  expect(res.status).toBe(200);
  return res.body as Holder;
}

function acquire(cluster: LocalCluster, id: string, scope: string, candidateId: string): Promise<bigint> {
  return acquireWithTtl(cluster, id, scope, candidateId, LEASE_TTL_MS);
}

describe('backup and restore between real 3-node clusters', () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-snapshot-'));
  let old: LocalCluster | undefined;
  let restored: LocalCluster | undefined;
  const backup = join(root, 'backup.snap');

  afterAll(async () => {
    if (old !== undefined) await discardCluster(old);
    if (restored !== undefined) await discardCluster(restored);
    rmSync(root, { recursive: true, force: true });
  });

  it('saves under load, restores every lease into a new cluster, and fences continue above the old ones', async () => {
    old = await LocalCluster.create({ size: 3, dataRoot: join(root, 'old'), basePort: 0, logLevel: 'info' });
    old.startAll();
    const leader = await old.waitForLeader();
    // A downstream resource's guard sees every fence the old cluster hands out.
    const guard = new FenceGuard();
    const oldFences = new Map<string, bigint>();
    for (let i = 0; i < SCOPES; i++) {
      const scope = `backup/${i}`;
      const fence = await acquire(old, leader, scope, `worker-${i}`);
      guard.admit(scope, fence);
      oldFences.set(scope, fence);
    }
    // Load: holder changes on other scopes while the backup is taken (bounded in count).
    let stop = false;
    let loadWrites = 0;
    const load = (async () => {
      for (let i = 0; !stop && i < LOAD_WRITES; i++) {
        const scope = `load/${i % 10}`;
        const res = await old.post(leader, '/leadership/acquire', {
          scope,
          candidateId: `load-${i}`,
          leaseTtlMs: 1_000,
        });
        if (res.status === 200) loadWrites++;
      }
    })();
    const endpoints = old.nodes.map((n) => n.grpcAddress).join(',');
    const saved = await cli(['--endpoints', endpoints, 'snapshot', 'save', backup]);
    stop = true;
    await load;
    expect(saved.err).toBe('');
    expect(saved.code).toBe(0);
    expect(loadWrites).toBeGreaterThan(0);
    expect(statSync(backup).mode & 0o777).toBe(0o600);

    const status = await cli(['-o', 'json', 'snapshot', 'status', backup]);
    expect(status.code).toBe(0);
    const header = JSON.parse(status.out) as {
      clusterId: string;
      index: number;
      membership: { voters: string[] };
      leases: number;
      checksumOk: boolean;
    };
    expect(header).toMatchObject({ clusterId: 'omnirelay', checksumOk: true });
    expect(header.membership.voters).toEqual(['n1', 'n2', 'n3']);
    expect(header.leases).toBeGreaterThanOrEqual(SCOPES);
    // Every fence the backup holds is at or below its index.
    for (const fence of oldFences.values()) expect(fence <= BigInt(header.index)).toBe(true);

    // The old cluster goes on after the backup and grants higher fences; the guard sees them too.
    const lateScope = 'backup/0';
    await old.post(leader, '/leadership/resign', {
      scope: lateScope,
      fenceToken: String(oldFences.get(lateScope)),
    });
    const lateFence = await acquire(old, leader, lateScope, 'late-writer');
    guard.admit(lateScope, lateFence);
    const oldLast = (await old.status(leader))!.lastIndex;
    await old.stopAll();

    // Restore into a new 3-node cluster, bumping indexes past everything the old one granted.
    restored = await LocalCluster.create({
      size: 3,
      dataRoot: join(root, 'new'),
      basePort: 0,
      logLevel: 'info',
      extraArgs: ['--cluster-id', 'omnirelay-restored'],
    });
    const members = restored.nodes.map((n) => `${n.id}=${n.peerAddress}`).join(',');
    const bump = oldLast - header.index + 1000;
    for (const n of restored.nodes) {
      const r = await restore([
        backup,
        '--data-dir',
        n.dataDir,
        '--id',
        n.id,
        '--members',
        members,
        '--cluster-id',
        'omnirelay-restored',
        '--bump-index',
        String(bump),
      ]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
    }
    restored.startAll();
    const newLeader = await restored.waitForLeader(60_000);
    const s = (await restored.status(newLeader))!;
    expect(s.snapshotIndex).toBe(header.index + bump);

    // Every lease of the backup is there, with its fence.
    for (const [scope, fence] of oldFences) {
      if (scope === lateScope) continue;
      const h = await holderOf(restored, newLeader, scope);
      expect(h.leader?.fenceToken).toBe(String(fence));
      // The guard that saw the old cluster still admits the holder's fence (it is the highest it saw).
      expect(guard.check(scope, fence)).toBe(true);
    }
    // The backup's holder of the late scope is back, with its old (now stale downstream) fence.
    const lateHolder = await holderOf(restored, newLeader, lateScope);
    expect(BigInt(lateHolder.leader!.fenceToken)).toBe(oldFences.get(lateScope));
    expect(guard.check(lateScope, oldFences.get(lateScope)!)).toBe(false);

    // New holders get fences above every fence of the old cluster, and the guard admits them.
    for (const scope of ['backup/1', lateScope]) {
      const current = BigInt((await holderOf(restored, newLeader, scope)).leader!.fenceToken);
      const res = await restored.post(newLeader, '/leadership/resign', {
        scope,
        fenceToken: String(current),
      });
      expect(res.status).toBe(200);
      const fresh = await acquire(restored, newLeader, scope, `new-${scope}`);
      expect(fresh > lateFence).toBe(true);
      expect(fresh > BigInt(oldLast)).toBe(true);
      guard.admit(scope, fresh);
      // The holders before the restore are stale downstream.
      expect(() => guard.admit(scope, current)).toThrow(/rejected/);
    }
    expect(() => guard.admit(lateScope, lateFence)).toThrow(/rejected/);
  });

  it('refuses a truncated or tampered backup and a non-empty folder with one line, writing nothing', async () => {
    const bytes = readFileSync(backup);
    const truncated = join(root, 'truncated.snap');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    const tampered = join(root, 'tampered.snap');
    const changed = Buffer.from(bytes);
    changed[Math.floor(changed.length / 2)] = changed[Math.floor(changed.length / 2)]! ^ 0xff;
    writeFileSync(tampered, changed);
    const args = (file: string, dir: string): string[] => [
      file,
      '--data-dir',
      dir,
      '--id',
      'n1',
      '--members',
      'n1=127.0.0.1:1',
      '--cluster-id',
      'other',
    ];
    for (const file of [truncated, tampered]) {
      const dir = join(root, `target-${file.endsWith('truncated.snap') ? 't' : 'x'}`);
      const r = await restore(args(file, dir));
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/checksum|truncated/);
      expect(() => statSync(dir)).toThrow();
      const status = await cli(['snapshot', 'status', file]);
      expect(status.code).toBe(2);
      expect(status.err.trim().split('\n')).toHaveLength(1);
      expect(status.err).toMatch(/SNAPSHOT_CHECKSUM_MISMATCH/);
    }
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep.txt'), 'x');
    const r = await restore(args(backup, busy));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not empty/);
    expect(readFileSync(join(busy, 'keep.txt'), 'utf8')).toBe('x');
    const sameId = await restore([...args(backup, join(root, 'same')).slice(0, -1), 'omnirelay']);
    expect(sameId.code).toBe(2);
    expect(sameId.err).toMatch(/--cluster-id must name the NEW cluster/);
    const notMember = await restore([
      ...args(backup, join(root, 'nm')).slice(0, 4),
      'n9',
      '--members',
      'n1=127.0.0.1:1',
      '--cluster-id',
      'x',
    ]);
    expect(notMember.code).toBe(2);
    expect(notMember.err).toMatch(/--id n9 is not in --members/);
  });
});
