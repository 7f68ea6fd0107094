/**
 * InvariantViolation is thrown when an impossible internal state is reached (two holders, a
 * fence that does not increase, an entry index that goes backwards). Nothing catches it: a
 * broken invariant stops the process with the numbers involved in its message. It is never
 * used for bad input, which gets a typed error result instead.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  readonly isInvariantViolation = true;
}

/**
 * assert throws InvariantViolation with the lazily built message when `condition` is false.
 * The message should name the numbers involved, e.g. `fence(7) not above last fence(9) in scope "a"`.
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
