import type { ChaosErrorCode } from '../../src/errors';
import { isChaosError } from '../../src/errors';

/**
 * chaosErrorOf runs `f`, expects it to throw a ChaosError with `code` and returns its message
 * (it throws when `f` returns, or throws anything else).
 */
export function chaosErrorOf(f: () => unknown, code: ChaosErrorCode = 'INVALID_HISTORY'): string {
  try {
    f();
  } catch (e) {
    if (!isChaosError(e, code)) throw e;
    return e.message;
  }
  throw new Error(`expected a ChaosError ${code}`);
}
