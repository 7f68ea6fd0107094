import { encodeCapture } from '../../src/node/encode-capture';
import type { SnapshotCapture } from '../../src/node/state-machine';

/** sliced is a capture of `count` slices; `onSlice` runs inside each encodeSlice call. */
function sliced(count: number, onSlice: (slice: number) => void = () => undefined): SnapshotCapture {
  let slice = 0;
  return {
    encodeSlice: () => {
      onSlice(++slice);
      return slice === count ? Uint8Array.of(slice) : undefined;
    },
    release: () => undefined,
  };
}

describe('encodeCapture', () => {
  it('encodes one slice per event-loop turn and reports how many', async () => {
    const turnsSeen: number[] = [];
    let turns = 0;
    const counter = (): void => {
      turns++;
      if (turns < 100) setImmediate(counter);
    };
    setImmediate(counter);
    const encoded = await encodeCapture(
      sliced(3, () => turnsSeen.push(turns)),
      () => false,
    );
    expect(encoded).toMatchObject({ data: Uint8Array.of(3), slices: 3 });
    // Each slice ran on a turn of its own.
    expect(new Set(turnsSeen).size).toBe(3);
  });

  it("runs the first slice in a turn of its own, not in the caller's (which took the capture after applying entries)", async () => {
    let callerTurn = true;
    const inCallerTurn: boolean[] = [];
    const encoding = encodeCapture(
      sliced(2, () => inCallerTurn.push(callerTurn)),
      () => false,
    );
    callerTurn = false;
    expect(await encoding).toMatchObject({ slices: 2 });
    expect(inCallerTurn).toEqual([false, false]);
  });

  it('gives up before the first slice when stopped before its turn', async () => {
    let slicesRun = 0;
    let stopped = false;
    const encoding = encodeCapture(
      sliced(1, () => slicesRun++),
      () => stopped,
    );
    stopped = true;
    expect(await encoding).toBeUndefined();
    expect(slicesRun).toBe(0);
  });

  it('resolves a turn after the last slice, so the write of the bytes does not join its turn', async () => {
    let laterTurn = false;
    const encoded = await encodeCapture(
      sliced(1, () => setImmediate(() => (laterTurn = true))),
      () => false,
    );
    expect(encoded?.slices).toBe(1);
    expect(laterTurn).toBe(true);
  });

  it('gives up (undefined) when stopped between slices or after the last', async () => {
    let stopped = false;
    expect(
      await encodeCapture(
        sliced(5, (n) => (stopped = n === 2)),
        () => stopped,
      ),
    ).toBeUndefined();
    stopped = false;
    expect(
      await encodeCapture(
        sliced(1, () => (stopped = true)),
        () => stopped,
      ),
    ).toBeUndefined();
  });
});
