/**
 * ChaosErrorCode names what went wrong reading a run's files:
 * - INVALID_HISTORY: a record is not valid JSON or lacks a field, or a process's records do not
 *   pair up (an `ok` with no `invoke`, two invokes in a row);
 * - INVALID_ARGUMENT: a checker option or a command-line argument is out of range.
 */
export type ChaosErrorCode = 'INVALID_HISTORY' | 'INVALID_ARGUMENT';

/**
 * ChaosError is the typed error of the chaos checkers. `source` names the file and line
 * (`client-w1.jsonl:12`) when the error is about one record, so a harness bug is found at once.
 */
export class ChaosError extends Error {
  readonly code: ChaosErrorCode;
  readonly source: string | undefined;

  constructor(code: ChaosErrorCode, message: string, source?: string) {
    super(source === undefined ? message : `${source}: ${message}`);
    this.name = 'ChaosError';
    this.code = code;
    this.source = source;
  }
}

/** isChaosError says whether `e` is a ChaosError (with `code`, when given), across Jest realms. */
export function isChaosError(e: unknown, code?: ChaosErrorCode): e is ChaosError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { name?: unknown }).name === 'ChaosError' &&
    (code === undefined || (e as { code?: unknown }).code === code)
  );
}
