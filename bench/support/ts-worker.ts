/**
 * Worker threads that run a TypeScript file of the bench through the same loader as the bench
 * process (@swc-node/register), and their orderly stop.
 */
import { Worker } from 'node:worker_threads';

/** startTsWorker runs the TypeScript `file` in a worker thread with `workerData`. */
export function startTsWorker(file: string, workerData: unknown): Worker {
  return new Worker(`require('@swc-node/register'); require(${JSON.stringify(file)});`, {
    eval: true,
    workerData,
  });
}

/**
 * stopTsWorker posts `{ type: 'stop' }`, waits up to `graceMs` for the worker to exit on its own,
 * then terminates it.
 */
export async function stopTsWorker(w: Worker, graceMs: number): Promise<void> {
  const exited = new Promise<void>((r) => w.once('exit', () => r()));
  w.postMessage({ type: 'stop' });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  await w.terminate();
}
