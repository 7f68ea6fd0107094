/** AppliedCommand is a committed command as the state machine receives it. */
export interface AppliedCommand {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

/**
 * SnapshotCapture is a state machine's state as of one applied command, encoded a bounded slice
 * at a time while the runtime goes on applying later commands: however large the state, the
 * runtime's loop (and its heartbeats) never waits for the whole encoding.
 */
export interface SnapshotCapture {
  /**
   * encodeSlice encodes the next bounded part (a few milliseconds of work). It returns undefined
   * while parts remain, and on the call that finishes the snapshot's bytes: exactly what the
   * state was at the capture, whatever was applied or restored since.
   */
  encodeSlice(): Uint8Array | undefined;
  /** release gives the capture up before it finished (the node stops); the state machine stops keeping it. */
  release(): void;
}

/**
 * SnapshotInstall is a snapshot being installed into a state machine a bounded slice at a time,
 * so the runtime's loop (and its heartbeats) never waits for the whole decoding. Until the last
 * slice the state machine keeps its previous state, whole: reads never see a half-built one.
 */
export interface SnapshotInstall {
  /**
   * installSlice installs the next bounded part (a few milliseconds of work). It returns false
   * while parts remain, and true on the call after which the state machine holds the
   * snapshot's state. It throws as `restore` does for bad bytes.
   */
  installSlice(): boolean;
}

/**
 * StateMachine is what a RaftNode replicates. `apply` must be deterministic (same commands in the
 * same order ⇒ same state and results on every replica) and must not throw for bad input: it
 * returns an error result instead. A throw is treated as a broken invariant and stops the node.
 */
export interface StateMachine<Result = unknown> {
  /** apply applies one committed command and returns the result its proposer receives. */
  apply(command: AppliedCommand): Result;
  /**
   * captureSnapshot takes the whole state as of the last applied command, cheaply and at once;
   * the node encodes it in slices between its other work (see SnapshotCapture).
   */
  captureSnapshot(): SnapshotCapture;
  /** restore replaces the whole state with a snapshot's bytes. */
  restore(data: Uint8Array): void;
  /**
   * beginRestore, when a state machine has it, replaces the whole state with a snapshot's bytes
   * a slice at a time (see SnapshotInstall); the node then installs a leader's snapshot one
   * slice per event-loop turn. Without it, the node calls `restore`.
   */
  beginRestore?(data: Uint8Array): SnapshotInstall;
}

/**
 * wholeSnapshot is the SnapshotCapture of a state machine whose state is small enough to encode
 * at once: `data` are its bytes, returned by the first slice.
 */
export function wholeSnapshot(data: Uint8Array): SnapshotCapture {
  return { encodeSlice: () => data, release: () => undefined };
}
