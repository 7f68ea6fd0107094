import type { SnapshotCapture } from './state-machine';

/** EncodedCapture is a capture's bytes, in how many slices they were encoded and the longest slice. */
export interface EncodedCapture {
  readonly data: Uint8Array;
  readonly slices: number;
  readonly sliceMsMax: number;
}

/**
 * encodeCapture encodes `capture` one slice per event-loop turn (setImmediate lets timers and I/O
 * run between slices); undefined when `stopped()` turns true first. The first slice, too, runs in
 * a turn of its own: the caller took the capture at the end of a turn that applied entries, and a
 * slice (up to 15 ms at 100,000 leases) added to it made that turn the snapshot's longest. It
 * resolves a turn after the last slice, so the caller's next step (the store's first write, a few
 * milliseconds) does not share that slice's turn.
 */
export async function encodeCapture(
  capture: SnapshotCapture,
  stopped: () => boolean,
): Promise<EncodedCapture | undefined> {
  let slices = 0;
  let sliceMsMax = 0;
  let data: Uint8Array | undefined;
  while (data === undefined) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (stopped()) return undefined;
    const sliceStarted = performance.now();
    data = capture.encodeSlice();
    sliceMsMax = Math.max(sliceMsMax, performance.now() - sliceStarted);
    slices++;
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (stopped()) return undefined;
  return { data, slices, sliceMsMax };
}
