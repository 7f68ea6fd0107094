/**
 * Workload (e): watch fan-out. A writer acquires scopes through the leader, one write at a time;
 * N watchers on a follower, spread over worker threads (each with its own client), stamp when they
 * see each grant. Figures: acknowledgement → each watcher's callback (p50/p99), acknowledgement →
 * last watcher per write, and missed events.
 */
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { progress } from '../support/stats';
import { startTsWorker, stopTsWorker } from '../support/ts-worker';
import { summarizeMs } from './summary';
import type { SampleSummary } from './summary';
import type { HeldScope, Target } from './target';
import { sharedNowMs, sleep, withDeadline } from './time';
import type { WatchWorkerData } from './watch-worker';

/** WARM_WRITES_MAX bounds the unmeasured writes that wait for every watcher to be live. */
const WARM_WRITES_MAX = 20;
/** WORKER_READY_MS_MAX bounds how long the workers may take to open their watchers. */
const WORKER_READY_MS_MAX = 60_000;
/** WORKER_STOP_MS_MAX bounds a worker's orderly stop before it is terminated. */
const WORKER_STOP_MS_MAX = 2000;

/** WatchResult is (e) for one watcher count. */
export interface WatchResult {
  readonly watchers: number;
  readonly workers: number;
  readonly follower: string;
  readonly writes: number;
  readonly warmWrites: number;
  /** ackToSeenMs: for every (write, watcher) seen, watcher callback time − writer acknowledgement time. */
  readonly ackToSeenMs: SampleSummary;
  /** ackToLastMs: per write seen by every watcher, the latest watcher's time − acknowledgement. */
  readonly ackToLastMs: SampleSummary;
  readonly missed: number;
}

/** startWorker runs watch-worker.ts in a worker thread (through the same TypeScript loader as this process). */
function startWorker(data: WatchWorkerData): Worker {
  return startTsWorker(join(__dirname, 'watch-worker.ts'), data);
}

function stopWorker(w: Worker): Promise<void> {
  return stopTsWorker(w, WORKER_STOP_MS_MAX);
}

/** runWatch measures (e) for one watcher count on one follower. */
export async function runWatch(
  target: Target,
  options: {
    readonly watchers: number;
    readonly workersMax: number;
    readonly writes: number;
    readonly seenWaitMs: number;
    readonly ttlMs: number;
    readonly scopePrefix: string;
    /** writeGapMs spaces the measured writes (the scale bench spreads them over its window). */
    readonly writeGapMs?: number;
    /**
     * window, when given, is told when the measured writes begin (every watcher is open and live)
     * and when they are all seen, so a caller can measure the nodes over that stretch alone,
     * without the watch workers' start-up and the streams' opening and closing.
     */
    readonly window?: { begin(): void | Promise<void>; end(): void | Promise<void> };
  },
): Promise<WatchResult> {
  const leader = await target.leader(30_000);
  const follower = target.members.find((m) => m !== leader)!;
  const slots = WARM_WRITES_MAX + options.writes;
  const n = options.watchers;
  const seenAtBuffer = new SharedArrayBuffer(8 * n * slots);
  const seenCountBuffer = new SharedArrayBuffer(4 * slots);
  const seenAt = new Float64Array(seenAtBuffer).fill(Number.NaN);
  const seenCount = new Int32Array(seenCountBuffer);
  const prefix = `${options.scopePrefix}/`;
  const workerCount = Math.max(1, Math.min(options.workersMax, n));
  const workers: Worker[] = [];
  const held: HeldScope[] = [];
  let workerError: string | undefined;
  try {
    const ready: Array<Promise<void>> = [];
    let first = 0;
    for (let k = 0; k < workerCount; k++) {
      const share = Math.floor(n / workerCount) + (k < n % workerCount ? 1 : 0);
      const w = startWorker({
        spec: target.watchSpec(follower),
        prefix,
        firstWatcher: first,
        watchers: share,
        slots,
        seenAt: seenAtBuffer,
        seenCount: seenCountBuffer,
      });
      first += share;
      workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.on('message', (m: { type: string; message?: string }) => {
            if (m.type === 'ready') resolve();
            if (m.type === 'error') {
              workerError ??= m.message ?? 'watch worker failed';
              reject(new Error(workerError));
            }
          });
          w.once('error', (e) => reject(e));
        }),
      );
    }
    await withDeadline(Promise.all(ready), WORKER_READY_MS_MAX, `opening ${n} watchers`);

    const waitSeen = async (slot: number, ms: number): Promise<boolean> => {
      const deadline = performance.now() + ms;
      while (Atomics.load(seenCount, slot) < n) {
        if (performance.now() > deadline || workerError !== undefined) return false;
        await sleep(1);
      }
      return true;
    };

    // Warm-up writes until one is seen by every watcher: then every watch stream is live.
    let warm = 0;
    let live = false;
    while (!live && warm < WARM_WRITES_MAX) {
      held.push(await target.acquire(`${prefix}${warm}`, options.ttlMs));
      live = await waitSeen(warm, 5000);
      warm++;
    }
    if (!live) {
      throw new Error(
        `only ${Atomics.load(seenCount, warm - 1)} of ${n} watchers saw a warm-up write${workerError !== undefined ? ` (${workerError})` : ''}`,
      );
    }

    await options.window?.begin();
    const ackAt: number[] = [];
    for (let j = 0; j < options.writes; j++) {
      const slot = WARM_WRITES_MAX + j;
      held.push(await target.acquire(`${prefix}${slot}`, options.ttlMs));
      ackAt.push(sharedNowMs());
      await waitSeen(slot, options.seenWaitMs);
      if (options.writeGapMs !== undefined) await sleep(options.writeGapMs);
    }
    await sleep(Math.min(1000, options.seenWaitMs));
    await options.window?.end();

    const ackToSeen: number[] = [];
    const ackToLast: number[] = [];
    let missed = 0;
    for (let j = 0; j < options.writes; j++) {
      const slot = WARM_WRITES_MAX + j;
      let last = Number.NEGATIVE_INFINITY;
      let all = true;
      for (let w = 0; w < n; w++) {
        const at = seenAt[w * slots + slot]!;
        if (Number.isNaN(at)) {
          missed++;
          all = false;
          continue;
        }
        const ms = at - ackAt[j]!;
        ackToSeen.push(ms);
        if (ms > last) last = ms;
      }
      if (all) ackToLast.push(last);
    }
    const result: WatchResult = {
      watchers: n,
      workers: workerCount,
      follower,
      writes: options.writes,
      warmWrites: warm,
      ackToSeenMs: summarizeMs(ackToSeen),
      ackToLastMs: summarizeMs(ackToLast),
      missed,
    };
    progress(
      `${target.name} (e) ${n} watcher(s) on ${follower}: ack→seen p50 ${result.ackToSeenMs.p50.toFixed(2)} ms p99 ${result.ackToSeenMs.p99.toFixed(2)} ms, ack→last p50 ${result.ackToLastMs.p50.toFixed(2)} ms p99 ${result.ackToLastMs.p99.toFixed(2)} ms, missed ${missed}`,
    );
    return result;
  } finally {
    await Promise.all(workers.map((w) => stopWorker(w)));
    await Promise.all(held.map((h) => h.release().catch(() => undefined)));
  }
}
