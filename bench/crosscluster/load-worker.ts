/**
 * The write load of the crosscluster bench's lag phases, in a worker thread so that the main
 * thread's mirror polls are not delayed by it: `concurrency` loops of acquire → resign cycles on
 * distinct scopes through one SDK client of the active cluster, paced so that the cycles start at
 * `writesPerS / 2` a second (one cycle is two writes: the grant and the resignation, each one holder
 * change, one event of the active cluster's watch stream, one change the passive mirror applies).
 * A loop that falls behind the pace runs back to back; it never bursts to catch up.
 * For every grant it records the lease's revision, when the acquire was sent and when its answer
 * came (sharedNowMs), and posts them when told to stop. It posts `ready` once loaded and starts on
 * `go`, so that its (slow) start in a fresh thread is not part of the window.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createClient } from '@omnirelay/client-sdk';
import { sharedNowMs } from '../compare/time';

/** LoadWorkerData configures one load worker. */
export interface LoadWorkerData {
  readonly endpoints: readonly string[];
  readonly writesPerS: number;
  readonly concurrency: number;
  readonly ttlMs: number;
  readonly scopePrefix: string;
}

/** LoadReport is the worker's answer to `stop`: every grant as [revision, sentAtMs, answeredAtMs]. */
export interface LoadReport {
  readonly type: 'report';
  readonly grants: readonly (readonly [number, number, number])[];
  readonly writes: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly errors: number;
  readonly firstError?: string;
}

/** LOAD_CALL_MS_MAX is the SDK's per-call deadline. */
const LOAD_CALL_MS_MAX = 5000;
/** LOAD_ERRORS_MAX stops a loop that keeps failing instead of spinning on errors. */
const LOAD_ERRORS_MAX = 1000;
/** CYCLES_MAX bounds the cycles of one worker (far above what a lag phase reaches). */
const CYCLES_MAX = 10_000_000;

const data = workerData as LoadWorkerData;
const client = createClient({
  endpoints: [...data.endpoints],
  callTimeoutMs: LOAD_CALL_MS_MAX,
  candidateId: 'crosscluster-load',
});
const grants: [number, number, number][] = [];
const cycleEveryMs = 2000 / data.writesPerS;
let fromMs = 0;
let next = 0;
let writes = 0;
let errors = 0;
let firstError: string | undefined;
let stopping = false;

async function loop(): Promise<void> {
  while (!stopping && next < CYCLES_MAX && errors <= LOAD_ERRORS_MAX) {
    const slot = next++;
    const waitMs = fromMs + slot * cycleEveryMs - sharedNowMs();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    if (stopping) return;
    try {
      const sentAtMs = sharedNowMs();
      const lease = await client.acquire(`${data.scopePrefix}/${slot}`, { ttlMs: data.ttlMs });
      const answeredAtMs = sharedNowMs();
      if (lease === null) throw new Error(`${data.scopePrefix}/${slot} was held`);
      if (!stopping) writes++;
      grants.push([Number(lease.revision), sentAtMs, answeredAtMs]);
      await lease.resign();
      if (!stopping) writes++;
    } catch (e) {
      errors++;
      firstError ??= e instanceof Error ? e.message : String(e);
    }
  }
}

let loops: Promise<void>[] = [];
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'go') {
    fromMs = sharedNowMs();
    loops = Array.from({ length: data.concurrency }, () => loop());
    return;
  }
  if (m.type !== 'stop' || stopping) return;
  stopping = true;
  const toMs = sharedNowMs();
  void Promise.allSettled(loops).then(() => {
    const report: LoadReport = {
      type: 'report',
      grants,
      writes,
      fromMs,
      toMs,
      errors,
      ...(firstError === undefined ? {} : { firstError }),
    };
    parentPort!.postMessage(report);
    client.close();
    parentPort!.close();
  });
});
parentPort!.postMessage({ type: 'ready' });
