/**
 * Verdict is a checker's answer: `valid` (no violation), `invalid` (at least one, listed) or
 * `unknown` (the checker could not decide, e.g. its step budget ran out; never a pass).
 */
export type Verdict = 'valid' | 'invalid' | 'unknown';

/** CheckResult is one checker's verdict and, when not valid, readable reasons. */
export interface CheckResult {
  /** checker is the module's name (`fenced-store`, `grants`, `linearizability`, ...). */
  readonly checker: string;
  readonly verdict: Verdict;
  /** violations are full sentences naming scopes, fences, operations and `file:line`. */
  readonly violations: readonly string[];
}

/** VIOLATIONS_REPORTED_MAX bounds how many violations a checker lists (it counts the rest). */
export const VIOLATIONS_REPORTED_MAX = 50;

/** resultOf builds a CheckResult from the violations found: none is `valid`. */
export function resultOf(checker: string, violations: readonly string[]): CheckResult {
  const listed =
    violations.length <= VIOLATIONS_REPORTED_MAX
      ? violations
      : [
          ...violations.slice(0, VIOLATIONS_REPORTED_MAX),
          `… and ${violations.length - VIOLATIONS_REPORTED_MAX} more`,
        ];
  return { checker, verdict: violations.length === 0 ? 'valid' : 'invalid', violations: listed };
}

/** combineVerdicts is `invalid` if any is, else `unknown` if any is, else `valid`. */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes('invalid')) return 'invalid';
  if (verdicts.includes('unknown')) return 'unknown';
  return 'valid';
}
