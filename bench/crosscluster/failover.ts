/**
 * The failover phases of the crosscluster bench, each on a pair where B follows A and two
 * FencedWorkers lead scope `failover/<run>` on A:
 * - **planned**: the bench runs `omnirelay --endpoints <B> mesh clusters promote b` (the real
 *   binary); time from the command's start to the first grant on B (a fence of epoch ≥ 1);
 * - **emergency**: SIGKILL of every node of A; the bench polls B's leader and, once B's
 *   replication status says `disconnected` (the stated detection delay), runs `omnirelay
 *   --endpoints <B> mesh clusters promote b --force`; the workers' clients find B on their own;
 *   time from the kill to the first grant on B.
 * The disruption (fenced-workers.ts) is read from the workers' records.
 */
import type { LocalCluster } from '@omnirelay/server';
import { grpcEndpoints } from '@omnirelay/server';
import { sharedNowMs, sleep } from '../compare/time';
import { progress } from '../support/stats';
import type { CliRun } from './cli';
import { runOmniRelayCli } from './cli';
import type { Disruption } from './fenced-workers';
import { FencedWorkers, disruptionOf } from './fenced-workers';
import type { ClusterPair } from './pair';

/** EPOCH_ONE_FENCE_MIN is the lowest fence of failover epoch 1 (docs/cross-cluster.md: epoch · 2^48 + index). */
const EPOCH_ONE_FENCE_MIN = 1n << 48n;
/** WORKERS is how many workers compete for the scope. */
const WORKERS = 2;
/** LEADER_MS_MAX bounds the wait for a worker to lead on A. */
const LEADER_MS_MAX = 30_000;
/** STEADY_MS is how long the workers write under A before the failover. */
const STEADY_MS = 1000;
/** AFTER_MS is how long the workers write under B after its first grant. */
const AFTER_MS = 1000;
/** GRANT_MS_MAX bounds the wait for the first grant on B. */
const GRANT_MS_MAX = 60_000;
/** DETECT_MS_MAX bounds the wait for B to say it lost A. */
const DETECT_MS_MAX = 30_000;
/** DETECT_POLL_MS is how often the bench reads B's replication status after the kill. */
const DETECT_POLL_MS = 20;
/** CLI_MS_MAX bounds one CLI run. */
const CLI_MS_MAX = 60_000;
/** POLL_MS is how often the bench checks the workers' records. */
const POLL_MS = 5;

/** FailoverResult is one failover phase. */
export interface FailoverResult {
  readonly kind: 'planned' | 'emergency';
  /** detectMs (emergency): the kill → B's status `disconnected`. */
  readonly detectMs?: number;
  /** killMs (emergency): how long the SIGKILLs of A's three nodes took to be reaped. */
  readonly killMs?: number;
  /** cliMs: the promote command's run time, start to exit. */
  readonly cliMs: number;
  readonly cliCode: number | null;
  readonly cliStdout: string;
  readonly cliStderr: string;
  /** disruption is undefined when B never granted within GRANT_MS_MAX. */
  readonly disruption: Disruption | undefined;
}

async function until<T>(
  what: string,
  read: () => T | undefined | Promise<T | undefined>,
  ms: number,
  pollMs = POLL_MS,
): Promise<T> {
  const deadline = performance.now() + ms;
  for (let i = 0; performance.now() < deadline && i < ms / pollMs; i++) {
    const v = await read();
    if (v !== undefined) return v;
    await sleep(pollMs);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function replicationStatus(b: LocalCluster, node: string): Promise<string | undefined> {
  const reply = await b.get(node, '/control/clusters', 1000).catch(() => undefined);
  return (reply?.body as { replication?: { status?: string } } | undefined)?.replication?.status;
}

/** runFailover runs one failover phase on `pair` (see the file comment); the pair is spent afterwards. */
export async function runFailover(
  pair: ClusterPair,
  kind: FailoverResult['kind'],
  run: number,
  workerTtlMs: number,
): Promise<FailoverResult> {
  const workers = new FencedWorkers(pair.a, pair.b, `failover/${run}`, workerTtlMs, WORKERS);
  try {
    await until('a worker to lead on A', () => workers.firstGrant(0n), LEADER_MS_MAX);
    await sleep(STEADY_MS);
    const promoteArgs = ['--endpoints', grpcEndpoints(pair.b).join(','), '--timeout', '3000'];
    let fromMs: number;
    let cli: CliRun;
    let detectMs: number | undefined;
    let killMs: number | undefined;
    if (kind === 'planned') {
      fromMs = sharedNowMs();
      cli = await runOmniRelayCli([...promoteArgs, 'mesh', 'clusters', 'promote', 'b'], CLI_MS_MAX);
    } else {
      fromMs = sharedNowMs();
      await Promise.all(pair.a.nodes.map((n) => pair.a.kill(n.id, 'SIGKILL')));
      killMs = sharedNowMs() - fromMs;
      await until(
        "B's replication status disconnected",
        async () => ((await replicationStatus(pair.b, pair.bLeader)) === 'disconnected' ? true : undefined),
        DETECT_MS_MAX,
        DETECT_POLL_MS,
      );
      detectMs = sharedNowMs() - fromMs;
      cli = await runOmniRelayCli(
        [...promoteArgs, 'mesh', 'clusters', 'promote', 'b', '--force'],
        CLI_MS_MAX,
      );
    }
    const first = await until(
      'the first grant on B',
      () => workers.firstGrant(EPOCH_ONE_FENCE_MIN),
      GRANT_MS_MAX,
    ).catch(() => undefined);
    if (first !== undefined) await sleep(AFTER_MS);
    await workers.stop();
    const result: FailoverResult = {
      kind,
      ...(detectMs === undefined ? {} : { detectMs }),
      ...(killMs === undefined ? {} : { killMs }),
      cliMs: cli.endedAtMs - cli.startedAtMs,
      cliCode: cli.code,
      cliStdout: cli.stdout,
      cliStderr: cli.stderr,
      disruption: disruptionOf(workers.records, fromMs, EPOCH_ONE_FENCE_MIN),
    };
    const d = result.disruption;
    progress(
      `run ${run} ${kind}: CLI exit ${String(cli.code)} after ${result.cliMs.toFixed(0)} ms${detectMs === undefined ? '' : ` (detected at ${detectMs.toFixed(0)} ms)`}; ` +
        (d === undefined
          ? 'no grant on B'
          : `first grant on B ${d.firstGrantMs.toFixed(0)} ms, holder gap ${d.holderGapMs.toFixed(0)} ms, write gap ${d.writeGapMs.toFixed(0)} ms, old fences admitted after B's grant ${d.oldAdmittedAfterNewGrant}`),
    );
    return result;
  } finally {
    await workers.stop();
  }
}
