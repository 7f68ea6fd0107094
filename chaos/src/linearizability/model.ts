/**
 * Model is a sequential specification for the linearizability search: the states an object can
 * be in and how one operation moves it. It may be nondeterministic (a step returns several
 * states, e.g. "the lease may have expired in between"); the search then tracks the set of
 * states the object may be in, as Porcupine's power-set models do.
 */
export interface Model<State, Input, Output> {
  /** init lists the states the object may start in (at least one). */
  init(): readonly State[];
  /**
   * step lists the states the object may be in after an operation with `input` that answered
   * `output` ran on `state`; `output` undefined means the answer is unknown (the operation
   * timed out, so it may or may not have taken effect). An empty list: impossible here.
   */
  step(state: State, input: Input, output: Output | undefined): readonly State[];
  /** key renders `state` as a string; equal states, equal keys (memoization uses it). */
  key(state: State): string;
}

/**
 * HistoryOperation is one operation the search orders: it may take effect at any instant in
 * [invokeNs, returnNs]; `returnNs` null means it never answered (it may take effect any time
 * after its invocation, or not at all if the model allows that for an unknown output).
 */
export interface HistoryOperation<Input, Output> {
  readonly input: Input;
  readonly output: Output | undefined;
  readonly invokeNs: bigint;
  readonly returnNs: bigint | null;
  /**
   * interchangeable, on an operation that never answered, names a class of such operations
   * that the model treats alike (same effect from every state): the search then counts how many
   * of the class it has ordered instead of which, which keeps many timed-out calls from
   * multiplying the orders to explore. Leave it undefined when unsure.
   */
  readonly interchangeable?: string;
}
