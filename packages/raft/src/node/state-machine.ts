/** AppliedCommand is a committed command as the state machine receives it. */
export interface AppliedCommand {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

/**
 * StateMachine is what a RaftNode replicates. `apply` must be deterministic (same commands in the
 * same order ⇒ same state and results on every replica) and must not throw for bad input: it
 * returns an error result instead. A throw is treated as a broken invariant and stops the node.
 */
export interface StateMachine<Result = unknown> {
  /** apply applies one committed command and returns the result its proposer receives. */
  apply(command: AppliedCommand): Result;
  /** snapshot returns the whole state as bytes, as of the last applied command. */
  snapshot(): Uint8Array;
  /** restore replaces the whole state with a snapshot's bytes. */
  restore(data: Uint8Array): void;
}
