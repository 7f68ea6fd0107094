import type * as grpc from '@grpc/grpc-js';
import { OmniRelayError, abortError, aborted, fromGrpcError, isOmniRelayError } from './errors';
import type { Router } from './router';

/** SnapshotOptions configures Client.snapshot. */
export interface SnapshotOptions {
  /** signal cancels the download (it then rejects with CANCELLED). */
  readonly signal?: AbortSignal;
}

/** SNAPSHOT_ATTEMPTS_MAX bounds the redirects to the leader before the download gives up. */
const SNAPSHOT_ATTEMPTS_MAX = 4;

/**
 * downloadSnapshot streams a backup from the leader (Cluster.Snapshot) into `onChunk`, in order,
 * and resolves with the byte count and the node that served it. A NOT_LEADER or an unreachable
 * node before the first chunk goes to the leader it names (or finds); once bytes were delivered,
 * any failure rejects, since the caller's copy is then incomplete. The stream pauses while
 * `onChunk`'s promise is pending.
 */
export async function downloadSnapshot(
  router: Router,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  options: SnapshotOptions,
): Promise<{ bytes: number; address: string }> {
  let last: OmniRelayError | undefined;
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS_MAX; attempt++) {
    if (aborted(options.signal)) throw abortError('the snapshot download');
    if (router.knownLeaderAddress === undefined) await router.discover(options.signal);
    const address = router.knownLeaderAddress ?? router.pick();
    let bytes = 0;
    try {
      await streamOnce(router, address, options.signal, async (chunk) => {
        bytes += chunk.byteLength;
        await onChunk(chunk);
      });
      return { bytes, address };
    } catch (e) {
      if (!isOmniRelayError(e)) throw e;
      if (bytes > 0 || (e.code !== 'NOT_LEADER' && e.code !== 'UNAVAILABLE')) throw e;
      router.noteFailure(address, e);
      last = e;
    }
  }
  throw last ?? new OmniRelayError('UNAVAILABLE', 'no leader answered the snapshot request');
}

/** streamOnce runs one Cluster.Snapshot call against `address`. */
function streamOnce(
  router: Router,
  address: string,
  signal: AbortSignal | undefined,
  onChunk: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  const client = router.stub(address, 'Cluster') as unknown as {
    Snapshot(request: object, metadata: grpc.Metadata): grpc.ClientReadableStream<{ data: Buffer }>;
  };
  const call = client.Snapshot({}, router.metadata());
  return new Promise<void>((resolve, reject) => {
    let pending: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
      reject(e instanceof Error ? e : new OmniRelayError('INTERNAL', String(e)));
    };
    const onAbort = (): void => fail(abortError('the snapshot download'));
    signal?.addEventListener('abort', onAbort, { once: true });
    call.on('data', (m: { data: Buffer }) => {
      call.pause();
      pending = pending.then(() => onChunk(m.data)).then(() => void call.resume(), fail);
    });
    call.on('error', (e: unknown) => fail(fromGrpcError(e, address)));
    call.on('end', () => {
      void pending.then(() => {
        if (failed) return;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  });
}
