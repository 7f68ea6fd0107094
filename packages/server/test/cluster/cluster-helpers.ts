import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalClusterOptions, NodeStatus } from '../../src/index';
import { LocalCluster } from '../../src/index';

/**
 * useLocalCluster gives a describe block a cluster of real server processes on free loopback
 * ports: created and started before its tests, every process stopped by PID (discardCluster) and
 * the data folder removed after them. It returns a getter, valid inside the tests. The CLI's tests
 * use it too (packages/cli/test/support/local-cluster.ts).
 */
export function useLocalCluster(
  name: string,
  options: Omit<LocalClusterOptions, 'dataRoot' | 'basePort'> & {
    /** beforeStart runs before the cluster is created (to write certificates its nodes read, say). */
    readonly beforeStart?: () => Promise<void>;
    /** leaderWithinMs, when set, makes the tests wait (at most this long) for a leader first. */
    readonly leaderWithinMs?: number;
    /** hookTimeoutMs bounds starting and stopping the cluster (default: the test timeout). */
    readonly hookTimeoutMs?: number;
  },
): () => LocalCluster {
  // The folder is made in beforeAll, not when the describe is collected: a run that filters out
  // every test of the block (jest -t) runs neither hook, and would leave the folder behind.
  let dataRoot: string | undefined;
  let cluster: LocalCluster | undefined;
  beforeAll(async () => {
    dataRoot = mkdtempSync(join(tmpdir(), `omnirelay-${name}-`));
    await options.beforeStart?.();
    // Spread only now: options may have getters that read what beforeStart made (certificates).
    cluster = await LocalCluster.create({ logLevel: 'info', ...options, dataRoot, basePort: 0 });
    cluster.startAll();
    if (options.leaderWithinMs !== undefined) await cluster.waitForLeader(options.leaderWithinMs);
  }, options.hookTimeoutMs);
  afterAll(async () => {
    if (cluster !== undefined) await discardCluster(cluster);
    if (dataRoot !== undefined) rmSync(dataRoot, { recursive: true, force: true });
  }, options.hookTimeoutMs);
  return () => {
    if (cluster === undefined) throw new Error('the local cluster is used outside its tests');
    return cluster;
  };
}

/**
 * discardCluster ends a cluster whose data is thrown away next: each node still running is killed
 * by PID with SIGKILL and waited for, then stopAll closes the cluster's connections. A SIGTERM to
 * every member at once (stopAll alone) would only make the leader wait SHUTDOWN_TRANSFER_TIMEOUT_MS
 * (3 s) to hand leadership to members that are stopping too; the planned stop itself is what
 * graceful-stop.test.ts tests.
 */
export async function discardCluster(cluster: LocalCluster): Promise<void> {
  await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, 'SIGKILL')));
  await cluster.stopAll();
}

/** StateDigest is what GET /debug/state reports: the FSM's counts and a hash of its snapshot bytes. */
export interface StateDigest {
  readonly lastAppliedIndex: number;
  readonly leaseCount: number;
  readonly digest: string;
}

/**
 * acquireMany acquires `count` distinct scopes `<prefix>/<i>` through `id` with `concurrency` in
 * flight, recording each fence in `fences` as soon as it is granted (so a holder can start
 * renewing at once), and returns that map.
 */
export async function acquireMany(
  cluster: LocalCluster,
  id: string,
  prefix: string,
  count: number,
  concurrency: number,
  leaseTtlMs = 120_000,
  fences: Map<string, string> = new Map<string, string>(),
): Promise<Map<string, string>> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const scope = `${prefix}/${next++}`;
      const res = await cluster.post(id, '/leadership/acquire', {
        scope,
        candidateId: 'worker-1',
        leaseTtlMs,
      });
      const body = res.body as { granted?: boolean; lease?: { fenceToken: string } };
      if (res.status !== 200 || body.granted !== true) {
        throw new Error(`acquire ${scope} failed: ${res.status} ${JSON.stringify(res.body)}`);
      }
      fences.set(scope, body.lease!.fenceToken);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return fences;
}

/**
 * STATE_READ_MS_MAX bounds one GET /debug/state. The node encodes its whole state to answer: at
 * 100,600 leases (compaction.test.ts) on a busy 2-core machine that took longer than the 1 s this
 * used to allow, and every poll then timed out and asked again, so identicalStateOn never saw
 * the node's answer.
 */
const STATE_READ_MS_MAX = 10_000;

/** stateOf reads what a node applied, or undefined when it does not answer. */
export async function stateOf(cluster: LocalCluster, id: string): Promise<StateDigest | undefined> {
  try {
    const res = await cluster.get(id, '/debug/state', STATE_READ_MS_MAX);
    return res.status === 200 ? (res.body as StateDigest) : undefined;
  } catch {
    return undefined;
  }
}

/** waitUntil polls `check` every 20 ms until it returns true, or throws after `timeoutMs` naming `what`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * identicalStateOn waits until every listed node applied the same entries and holds byte-identical
 * state (same snapshot hash) with at least `leasesMin` live leases, and returns that state.
 */
export async function identicalStateOn(
  cluster: LocalCluster,
  ids: readonly string[],
  leasesMin: number,
): Promise<StateDigest> {
  let last: Array<StateDigest | undefined> = [];
  await waitUntil(
    `${ids.join(',')} to hold identical state with ≥ ${leasesMin} leases`,
    async () => {
      last = await Promise.all(ids.map((id) => stateOf(cluster, id)));
      const first = last[0];
      return (
        first !== undefined &&
        first.leaseCount >= leasesMin &&
        last.every(
          (s) =>
            s !== undefined && s.lastAppliedIndex === first.lastAppliedIndex && s.digest === first.digest,
        )
      );
    },
    30_000,
  ).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; last states: ${JSON.stringify(last)}`);
  });
  return last[0]!;
}

/**
 * allBound: the leader has bound every voter to its incarnation (a config entry each, in the first
 * moments of a new cluster) and the last of them committed, so the commit index stays put unless
 * something is written.
 */
export function allBound(s: NodeStatus | undefined): boolean {
  const bound = s?.membership.incarnations ?? {};
  return (
    s !== undefined && s.commit === s.lastIndex && s.membership.voters.every((v) => bound[v] !== undefined)
  );
}

/**
 * steadyViews waits until the nodes agree on the leader, the term and the commit index, with
 * every voter bound and nothing left to commit, and returns each node's view.
 */
export async function steadyViews(cluster: LocalCluster, ids: readonly string[]): Promise<string[]> {
  let views: string[] = [];
  await waitUntil(
    `${ids.join(',')} to agree on the leader, the term and the commit index`,
    async () => {
      const statuses = await Promise.all(ids.map((id) => cluster.status(id)));
      views = statuses.map(view);
      const followers = views.filter((v) => v.startsWith('follower'));
      return (
        followers.length === ids.length - 1 &&
        new Set(views.map((v) => v.replace(/^\w+ /, ''))).size === 1 &&
        statuses.every((st) => allBound(st))
      );
    },
    30_000,
  );
  return views;
}

/** view is what must not move: who leads, at which term, and the commit index, as each node sees it. */
export function view(s: NodeStatus | undefined): string {
  return s === undefined ? 'down' : `${s.role} term ${s.term} leader ${s.leader} commit ${s.commit}`;
}

// The calm election flags moved next to LocalCluster, so that the crosscluster bench uses them too.
export { CALM_ELECTION_FLAGS, CALM_LEADER_WAIT_MS } from '../../src/index';

/**
 * pollUntil reads `read` every `pollMs` until it answers something other than undefined (a
 * thrown error counts as undefined), and returns that; it fails after `waitMs`, naming `what`.
 */
export async function pollUntil<T>(
  what: string,
  read: () => Promise<T | undefined>,
  waitMs = 20_000,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let i = 0; Date.now() < deadline && i < waitMs / pollMs; i++) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`timed out after ${waitMs} ms waiting for ${what}`);
}
