/**
 * Raft node figures (issue 4), written to bench/results/raft.json:
 * - crash failover: kill -9 of the leader → first acknowledged write on a survivor, with the
 *   leaderUnreachable fast path on and off (10 repetitions each);
 * - committed proposals per second with 1 and 128 concurrent proposers, with p50/p99 latency.
 * Every process runs on 127.0.0.1 and is stopped by PID; every loop is bounded in count and time.
 * Run: npm run bench -- raft   (progress on stderr, a table on stdout)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '@omnirelay/server';
import { percentile, progress, summarize } from '../support/stats';

const FAILOVER_REPETITIONS = Number(process.env['BENCH_FAILOVER_REPS'] ?? 10);
const THROUGHPUT_SECONDS = Number(process.env['BENCH_THROUGHPUT_SECONDS'] ?? 5);

async function withCluster<T>(
  name: string,
  extraArgs: string[],
  fn: (c: LocalCluster) => Promise<T>,
): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), `omnirelay-bench-${name}-`));
  const cluster = await LocalCluster.create({
    size: 3,
    dataRoot: root,
    basePort: 0,
    logLevel: 'warn',
    extraArgs,
  });
  cluster.startAll();
  try {
    await cluster.waitForLeader(20_000);
    return await fn(cluster);
  } finally {
    await cluster.stopAll();
    rmSync(root, { recursive: true, force: true });
  }
}

/** firstAckAfterKill sends one write every 5 ms to each survivor (3 s deadline each) until one is acknowledged. */
async function firstAckAfterKill(
  cluster: LocalCluster,
  survivors: string[],
  killedAt: number,
): Promise<number> {
  const deadline = killedAt + 10_000;
  let done: number | undefined;
  const inflight: Array<Promise<void>> = [];
  let seq = 0;
  while (done === undefined && Date.now() < deadline) {
    for (const id of survivors) {
      const key = `probe-${seq++}`;
      inflight.push(
        cluster
          .post(
            id,
            '/leadership/acquire',
            { scope: `probe/${key}`, candidateId: 'bench', leaseTtlMs: 60_000 },
            3000,
          )
          .then((r) => {
            if (r.status === 200 && done === undefined) done = performance.now();
          })
          .catch(() => undefined),
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
  if (done === undefined) throw new Error('no write was acknowledged within 10 s of the kill');
  return done;
}

async function failover(fast: boolean): Promise<number[]> {
  return withCluster(`failover-${String(fast)}`, ['--fast-failover', String(fast)], async (cluster) => {
    const samples: number[] = [];
    for (let rep = 0; rep < FAILOVER_REPETITIONS; rep++) {
      const leader = await cluster.waitForLeader(20_000);
      const survivors = cluster.nodes.map((n) => n.id).filter((id) => id !== leader);
      const killedAt = performance.now();
      const wall = Date.now();
      await cluster.kill(leader, 'SIGKILL');
      const ackAt = await firstAckAfterKill(cluster, survivors, wall);
      samples.push(ackAt - killedAt);
      progress(
        `failover fast=${String(fast)} rep ${rep + 1}/${FAILOVER_REPETITIONS}: ${(ackAt - killedAt).toFixed(1)} ms`,
      );
      cluster.start(leader);
      // Let the restarted node rejoin and the cluster settle before the next kill.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const s = await cluster.status(leader);
        if (s !== undefined && s.leader !== '' && s.applied > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    return samples;
  });
}

async function throughput(concurrency: number): Promise<{ perSecond: number; latenciesMs: number[] }> {
  return withCluster(`throughput-${concurrency}`, [], async (cluster) => {
    const leader = await cluster.waitForLeader(20_000);
    const latenciesMs: number[] = [];
    // 1 s warm-up, then the measured window.
    const warmupEnd = Date.now() + 1000;
    const end = warmupEnd + THROUGHPUT_SECONDS * 1000;
    let committed = 0;
    let seq = 0;
    const worker = async (): Promise<void> => {
      while (Date.now() < end) {
        const started = performance.now();
        const r = await cluster.post(
          leader,
          '/leadership/acquire',
          { scope: `bench/t-${seq++}`, candidateId: 'bench', leaseTtlMs: 120_000 },
          5000,
        );
        if (r.status !== 200) throw new Error(`write failed: ${r.status} ${JSON.stringify(r.body)}`);
        if (Date.now() > warmupEnd) {
          committed++;
          latenciesMs.push(performance.now() - started);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    progress(`throughput c=${concurrency}: ${committed} commits in ${THROUGHPUT_SECONDS} s`);
    return { perSecond: committed / THROUGHPUT_SECONDS, latenciesMs };
  });
}

async function main(): Promise<void> {
  const fastOn = await failover(true);
  const fastOff = await failover(false);
  const c1 = await throughput(1);
  const c128 = await throughput(128);
  const results = {
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    failover: {
      repetitions: FAILOVER_REPETITIONS,
      fastFailoverOn: summarize(fastOn),
      fastFailoverOff: summarize(fastOff),
      targetMedianMsWithFastFailover: 150,
    },
    throughput: {
      seconds: THROUGHPUT_SECONDS,
      concurrency1: {
        commitsPerSecond: c1.perSecond,
        p50Ms: percentile(c1.latenciesMs, 50),
        p99Ms: percentile(c1.latenciesMs, 99),
      },
      concurrency128: {
        commitsPerSecond: c128.perSecond,
        p50Ms: percentile(c128.latenciesMs, 50),
        p99Ms: percentile(c128.latenciesMs, 99),
      },
      path: 'HTTP/1.1 JSON POST /leadership/acquire (a distinct scope each) to the leader → propose → commit on a quorum → apply → answer',
    },
  };
  mkdirSync(join(__dirname, '../results'), { recursive: true });
  const out = join(__dirname, '../results/raft.json');
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  const f = results.failover;
  const t = results.throughput;
  process.stdout.write(
    [
      '| figure | value |',
      '|---|---|',
      `| crash failover, fast path on: median / max (${FAILOVER_REPETITIONS} reps; target median ≤ 150 ms) | ${f.fastFailoverOn.median.toFixed(1)} ms / ${f.fastFailoverOn.max.toFixed(1)} ms |`,
      `| crash failover, fast path off: median / max | ${f.fastFailoverOff.median.toFixed(1)} ms / ${f.fastFailoverOff.max.toFixed(1)} ms |`,
      `| commits/s, 1 proposer (p50 / p99) | ${t.concurrency1.commitsPerSecond.toFixed(0)} (${t.concurrency1.p50Ms.toFixed(2)} / ${t.concurrency1.p99Ms.toFixed(2)} ms) |`,
      `| commits/s, 128 proposers (p50 / p99) | ${t.concurrency128.commitsPerSecond.toFixed(0)} (${t.concurrency128.p50Ms.toFixed(2)} / ${t.concurrency128.p99Ms.toFixed(2)} ms) |`,
      `written to ${out}`,
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`raft bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
