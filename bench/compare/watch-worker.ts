/**
 * The watch worker thread of workload (e): it opens its own client to one member, creates its share
 * of the watchers on a scope prefix, and stamps, for each watcher and each write slot, the time the
 * watcher's callback saw the grant (sharedNowMs, comparable with the writer's clock), in shared
 * memory. Decoding thus happens off the writer's thread.
 *
 * Messages: posts {type:'ready'} when every watcher is open (or {type:'error'}); on {type:'stop'}
 * closes everything and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createClient } from '@omnirelay/client-sdk';
import { etcdClient } from './etcd-target';
import type { WatchWorkerSpec } from './target';
import { sharedNowMs } from './time';
import { readTls } from './tls-files';

/** WatchWorkerData is what the workload hands each worker. */
export interface WatchWorkerData {
  readonly spec: WatchWorkerSpec;
  readonly prefix: string;
  /** firstWatcher is the global index of this worker's first watcher. */
  readonly firstWatcher: number;
  readonly watchers: number;
  readonly slots: number;
  /** seenAt is Float64Array(totalWatchers × slots), NaN until seen. */
  readonly seenAt: SharedArrayBuffer;
  /** seenCount is Int32Array(slots): how many watchers saw each slot. */
  readonly seenCount: SharedArrayBuffer;
}

function main(data: WatchWorkerData): void {
  const port = parentPort;
  if (port === null) throw new Error('watch-worker must run in a worker thread');
  const seenAt = new Float64Array(data.seenAt);
  const seenCount = new Int32Array(data.seenCount);

  const mark = (watcher: number, scope: string): void => {
    const now = sharedNowMs();
    if (!scope.startsWith(data.prefix)) return;
    const slot = Number(scope.slice(data.prefix.length));
    if (!Number.isInteger(slot) || slot < 0 || slot >= data.slots) return;
    const at = (data.firstWatcher + watcher) * data.slots + slot;
    if (!Number.isNaN(seenAt[at]!)) return;
    seenAt[at] = now;
    Atomics.add(seenCount, slot, 1);
  };

  const tls = data.spec.tls === undefined ? undefined : readTls(data.spec.tls);
  const fail = (e: unknown): void => {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  };

  if (data.spec.target === 'etcd') {
    const client = etcdClient(data.spec.endpoint, tls);
    const open = async (): Promise<void> => {
      for (let w = 0; w < data.watchers; w++) {
        const watcher = await client.watch().prefix(data.prefix).create();
        watcher.on('put', (kv) => mark(w, kv.key.toString()));
      }
    };
    open().then(() => port.postMessage({ type: 'ready' }), fail);
    port.on('message', (m: { type: string }) => {
      if (m.type !== 'stop') return;
      client.close();
      port.close();
    });
    return;
  }

  const client = createClient({ endpoints: [data.spec.endpoint], ...(tls === undefined ? {} : { tls }) });
  // One controller per watcher: the SDK listens on the signal once per watch.
  const aborts: AbortController[] = [];
  for (let w = 0; w < data.watchers; w++) {
    const abort = new AbortController();
    aborts.push(abort);
    const consume = async (): Promise<void> => {
      for await (const ev of client.watch(data.prefix, { signal: abort.signal })) {
        if (ev.holder !== null) mark(w, ev.scope);
      }
    };
    consume().catch((e: unknown) => {
      if (!abort.signal.aborted) fail(e);
    });
  }
  // The SDK opens each watch stream asynchronously; the workload's warm-up writes confirm that every
  // watcher receives events before it measures anything.
  port.postMessage({ type: 'ready' });
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    for (const abort of aborts) abort.abort();
    client.close();
    port.close();
  });
}

main(workerData as WatchWorkerData);
