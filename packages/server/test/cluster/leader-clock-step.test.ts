import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalCluster } from '../../src/index';
import { useLocalCluster, waitUntil } from './cluster-helpers';

jest.setTimeout(120_000);

/** LIBFAKETIME is Debian's libfaketime (package faketime), which .ci/run installs. */
const LIBFAKETIME = ['x86_64-linux-gnu', 'aarch64-linux-gnu']
  .map((arch) => `/usr/lib/${arch}/faketime/libfaketime.so.1`)
  .find((path) => existsSync(path));

if (LIBFAKETIME === undefined && process.env['CI'] === 'true') {
  throw new Error("libfaketime is missing: install Debian's faketime package (.ci/run does)");
}

/** clockFiles holds one libfaketime offset file per node ("+0" is the real time). */
const clockDir = mkdtempSync(join(tmpdir(), 'omnirelay-faketime-'));
afterAll(() => rmSync(clockDir, { recursive: true, force: true }));
const clockFile = (id: string): string => join(clockDir, `${id}.txt`);
const stepClock = (id: string, offset: string): void => writeFileSync(clockFile(id), `${offset}\n`);
for (const id of ['n1', 'n2', 'n3']) stepClock(id, '+0');

/** FAKETIME_CACHE_S is how long libfaketime keeps an offset before it reads the file again. */
const FAKETIME_CACHE_S = 1;

interface Holder {
  readonly fenceToken: string;
}

async function holderOf(c: LocalCluster, id: string, scope: string): Promise<Holder | null | undefined> {
  const res = await c
    .get(id, `/control/leaders?scope=${encodeURIComponent(scope)}&consistency=serializable`)
    .catch(() => undefined);
  return (res?.body as { leader?: Holder | null } | undefined)?.leader;
}

async function acquire(c: LocalCluster, id: string, scope: string, leaseTtlMs: number): Promise<string> {
  const res = await c.post(id, '/leadership/acquire', { scope, candidateId: 'w', leaseTtlMs });
  const body = res.body as { lease?: { fenceToken: string } };
  if (res.status !== 200 || body.lease === undefined) throw new Error(`acquire: ${JSON.stringify(res.body)}`);
  return body.lease.fenceToken;
}

/** expiresAfterMs polls until `scope` has no holder on `id` and returns how long that took (bounded). */
async function expiresAfterMs(c: LocalCluster, id: string, scope: string, boundMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < boundMs) {
    if ((await holderOf(c, id, scope)) === null) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  return Number.POSITIVE_INFINITY;
}

(LIBFAKETIME === undefined ? describe.skip : describe)(
  'lease time on a leader whose wall clock steps (issue 15 item 3; libfaketime, the monotonic clock untouched)',
  () => {
    const cluster = useLocalCluster('clock-step', {
      size: 3,
      nodeEnv: (id) => ({
        LD_PRELOAD: LIBFAKETIME ?? '',
        FAKETIME_TIMESTAMP_FILE: clockFile(id),
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
        FAKETIME_CACHE_DURATION: String(FAKETIME_CACHE_S),
      }),
    });

    it('neither expires a lease early when the clock jumps an hour forward, nor late when it jumps back', async () => {
      const c = cluster();
      const leader = await c.waitForLeader(20_000);
      const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
      // Let the take-office grace commit before the leases are granted: the leader says when it has.
      await waitUntil(`${leader} to commit its take-office grace`, () =>
        Promise.resolve(
          readFileSync(c.node(leader).logFile, 'utf8').includes(
            'granted every live lease a grace; expiry is active',
          ),
        ),
      );

      const ttlMs = 6000;
      // Two leases: when the shorter one expires, the expiry timer is armed again for the other
      // one, reading lease time after the step.
      await acquire(c, leader, 'clock/short', 3000);
      const forward = await acquire(c, leader, 'clock/forward', ttlMs);
      const grantedAt = performance.now();
      stepClock(leader, '+3600');
      await new Promise((r) => setTimeout(r, (FAKETIME_CACHE_S + 1.5) * 1000));
      // An hour later by the leader's wall clock, the lease is still held...
      expect(await holderOf(c, leader, 'clock/forward')).toMatchObject({ fenceToken: forward });
      // ...and new writes are stamped in lease time, not an hour ahead: a fresh lease lives its TTL.
      const fresh = await acquire(c, leader, 'clock/fresh', ttlMs);
      expect(await holderOf(c, leader, 'clock/fresh')).toMatchObject({ fenceToken: fresh });
      // The followers see the leader's clock an hour ahead of theirs.
      const seen = await c.status(follower);
      const offset = (seen as unknown as { peers: Record<string, { clockOffsetMs: number | null }> }).peers[
        leader
      ]?.clockOffsetMs;
      expect(offset).toBeLessThan(-3_500_000);
      // It expires about one TTL after its grant: not early, and not an hour late either.
      const left = await expiresAfterMs(c, leader, 'clock/forward', 20_000);
      const lifetimeMs = performance.now() - grantedAt;
      expect(Number.isFinite(left)).toBe(true);
      expect(lifetimeMs).toBeGreaterThan(ttlMs - 500);
      expect(lifetimeMs).toBeLessThan(ttlMs + 4000);

      // Now the wall clock jumps back two hours (an hour behind the real time).
      const back = await acquire(c, leader, 'clock/back', ttlMs);
      const backAt = performance.now();
      stepClock(leader, '-3600');
      const backLeft = await expiresAfterMs(c, leader, 'clock/back', 20_000);
      expect(Number.isFinite(backLeft)).toBe(true);
      const backLifetimeMs = performance.now() - backAt;
      expect(backLifetimeMs).toBeGreaterThan(ttlMs - 500);
      expect(backLifetimeMs).toBeLessThan(ttlMs + 4000);
      expect(back).not.toBe(forward);
    });
  },
);
