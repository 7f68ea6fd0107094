/**
 * InvariantViolation is thrown when an impossible internal state is reached. Nothing catches
 * it: a broken invariant stops the process with the numbers involved in its message.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  readonly isInvariantViolation = true;
}

/**
 * assert throws InvariantViolation with the lazily built message when `condition` is false.
 * The message should name the numbers involved, e.g. `applied(12) out of range [prev(10), commit(11)]`.
 */
export function assert(condition: boolean, message: () => string): asserts condition {
  if (!condition) {
    throw new InvariantViolation(message());
  }
}

/** isInvariantViolation tells an InvariantViolation apart from other errors, across Jest realms. */
export function isInvariantViolation(e: unknown): e is InvariantViolation {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { isInvariantViolation?: unknown }).isInvariantViolation === true
  );
}
