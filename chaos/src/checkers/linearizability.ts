import { ChaosError } from '../errors';
import type { LeaseRegisterInput } from '../linearizability/lease-register';
import { leaseRegisterModel } from '../linearizability/lease-register';
import type { HistoryOperation } from '../linearizability/model';
import { searchLinearization } from '../linearizability/search';
import type { Operation, OperationOutput } from '../operations';
import { describeOperation } from '../operations';
import type { CheckResult } from '../verdict';
import { combineVerdicts } from '../verdict';

/** LINEARIZABILITY_STEP_BUDGET_DEFAULT is the search steps allowed per scope by default. */
export const LINEARIZABILITY_STEP_BUDGET_DEFAULT = 2_000_000;
/** LINEARIZABILITY_STEP_BUDGET_MAX bounds the stepBudget option (a run must end). */
export const LINEARIZABILITY_STEP_BUDGET_MAX = 1_000_000_000;
/** MINIMIZE_OPERATIONS_MAX: a counterexample longer than this is reported without shrinking it. */
export const MINIMIZE_OPERATIONS_MAX = 100;
/** MINIMIZE_TRIAL_STEPS_MAX is the step budget of each shrinking trial. */
export const MINIMIZE_TRIAL_STEPS_MAX = 200_000;

/** LinearizabilityOptions configures checkLinearizability. */
export interface LinearizabilityOptions {
  /** stepBudget is the search steps allowed per scope (1..LINEARIZABILITY_STEP_BUDGET_MAX). */
  readonly stepBudget?: number;
}

type LeaseOperation = HistoryOperation<LeaseRegisterInput, OperationOutput> & {
  readonly operation: Operation;
};

/**
 * leaseOperations keeps what the lease register model speaks about: lease calls (not store
 * writes) that did not certainly fail, minus serializable validates (answered by one replica,
 * so not linearizable by contract). An `info` acquire or campaign stays, with its answer
 * unknown; an `info` renew, validate or resign is dropped, because it cannot constrain
 * anything (renew and validate change nothing, and the model lets a lease end unseen at any
 * moment anyway) while every one of them left pending would double the orders the search has
 * to rule out before it can report a real violation. An `ok` campaign also stands for a grant
 * that may have lapsed within its call (a companion with an unknown answer, answered by then).
 */
function leaseOperations(operations: readonly Operation[]): LeaseOperation[] {
  const kept: LeaseOperation[] = [];
  for (const operation of operations) {
    if (operation.f === 'write' || operation.status === 'fail') continue;
    if (operation.f === 'validate' && operation.input.serializable === true) continue;
    if (operation.status === 'info' && operation.f !== 'acquire' && operation.f !== 'campaign') continue;
    kept.push({
      operation,
      input: { ...operation.input, f: operation.f },
      output: operation.status === 'ok' ? operation.output : undefined,
      invokeNs: operation.invokeNs,
      returnNs: operation.status === 'ok' ? operation.completeNs : null,
      // Every timed-out grant has one effect in the model (an unnamed holder), so the search
      // may count them instead of telling them apart.
      ...(operation.status === 'info' ? { interchangeable: 'grant' } : {}),
    });
    if (operation.f === 'campaign' && operation.status === 'ok') {
      // The SDK's campaign campaigns again inside the same call when the lease it was elected
      // to lapsed before it could confirm it, and answers with the last grant only: an earlier,
      // lapsed grant to this candidate may have happened within the call (minority-partition,
      // seed 17). A companion with an unknown answer, within the call's interval, stands for it.
      kept.push({
        operation,
        input: { ...operation.input, f: operation.f },
        output: undefined,
        invokeNs: operation.invokeNs,
        returnNs: operation.completeNs,
      });
    }
  }
  return kept;
}

function isIllegal(ops: readonly LeaseOperation[], stepBudget: number): boolean {
  return searchLinearization(leaseRegisterModel, ops, stepBudget).kind === 'illegal';
}

/**
 * shrink finds a small set of operations that is still not linearizable: those invoked up to
 * the answer the search could not reach, then one by one dropped (latest first, so the earlier
 * operations that explain the state stay longest) while the rest stays illegal. It answers null
 * when more than MINIMIZE_OPERATIONS_MAX operations come before that answer: a window cut from
 * the middle of a history would start from a vacant scope that was not vacant, and could
 * accuse operations that were fine.
 */
function shrink(ops: readonly LeaseOperation[], blockedAt: number): LeaseOperation[] | null {
  const cutoff = ops[blockedAt]?.returnNs ?? null;
  let kept = cutoff === null ? [...ops] : ops.filter((op) => op.invokeNs <= cutoff);
  if (kept.length > MINIMIZE_OPERATIONS_MAX || !isIllegal(kept, MINIMIZE_TRIAL_STEPS_MAX)) return null;
  // Calls that never answered are rarely the conflict: try without all of them at once first.
  const answered = kept.filter((op) => op.returnNs !== null);
  if (answered.length < kept.length && isIllegal(answered, MINIMIZE_TRIAL_STEPS_MAX)) kept = answered;
  for (let i = kept.length - 1; i >= 0; i--) {
    const trial = kept.filter((_, j) => j !== i);
    if (isIllegal(trial, MINIMIZE_TRIAL_STEPS_MAX)) kept = trial;
  }
  return kept;
}

/** COUNTEREXAMPLE_PREFIX_SHOWN is how many of the last linearized operations a long counterexample shows. */
export const COUNTEREXAMPLE_PREFIX_SHOWN = 5;

function counterexample(
  scope: string,
  ops: readonly LeaseOperation[],
  longestPrefix: readonly number[],
  blockedAt: number,
): string {
  const line = (op: LeaseOperation | undefined): string =>
    op === undefined ? '' : `\n  ${describeOperation(op.operation)}`;
  const searched = `the search ordered at most ${longestPrefix.length} of ${ops.length} operations`;
  const conflict = shrink(ops, blockedAt);
  if (conflict !== null) {
    return (
      `scope ${scope}: not linearizable: no order of these ${conflict.length} operations, from a vacant scope, fits the lease register:` +
      conflict.map(line).join('') +
      `\n  (${searched})`
    );
  }
  return (
    `scope ${scope}: not linearizable: ${searched}; the last it ordered were:` +
    longestPrefix
      .slice(-COUNTEREXAMPLE_PREFIX_SHOWN)
      .map((i) => line(ops[i]))
      .join('') +
    `\n  and then it could not place:${line(ops[blockedAt])}`
  );
}

/**
 * checkLinearizability checks the client histories against the per-scope lease register
 * (leaseRegisterModel). Scopes are independent objects, so each is searched on its own
 * (P-compositionality): a run's cost is the sum over scopes, not their product. A scope whose
 * search runs out of steps makes the verdict `unknown` ("budget exhausted"), never `valid`; a
 * scope with no linearization makes it `invalid`, with the smallest set of operations found
 * that admit no order, each named with its process, answer, times and `file:line`.
 */
export function checkLinearizability(
  operations: readonly Operation[],
  options: LinearizabilityOptions = {},
): CheckResult {
  const stepBudget = options.stepBudget ?? LINEARIZABILITY_STEP_BUDGET_DEFAULT;
  if (!Number.isSafeInteger(stepBudget) || stepBudget < 1 || stepBudget > LINEARIZABILITY_STEP_BUDGET_MAX) {
    throw new ChaosError(
      'INVALID_ARGUMENT',
      `stepBudget must be an integer in 1..${LINEARIZABILITY_STEP_BUDGET_MAX}, got ${stepBudget}`,
    );
  }
  const byScope = new Map<string, LeaseOperation[]>();
  for (const op of leaseOperations(operations)) {
    const list = byScope.get(op.operation.scope) ?? [];
    list.push(op);
    byScope.set(op.operation.scope, list);
  }
  const violations: string[] = [];
  const verdicts: ('valid' | 'invalid' | 'unknown')[] = [];
  for (const scope of [...byScope.keys()].sort()) {
    const ops = byScope.get(scope)!;
    const outcome = searchLinearization(leaseRegisterModel, ops, stepBudget);
    if (outcome.kind === 'linearizable') {
      verdicts.push('valid');
    } else if (outcome.kind === 'budget') {
      verdicts.push('unknown');
      violations.push(
        outcome.cacheFull
          ? `scope ${scope}: unknown: budget exhausted: the memo cache is full after ${outcome.steps} steps on ${ops.length} operations (the history is too concurrent to decide)`
          : `scope ${scope}: unknown: budget exhausted after ${outcome.steps} steps on ${ops.length} operations (raise --step-budget)`,
      );
    } else {
      verdicts.push('invalid');
      violations.push(counterexample(scope, ops, outcome.longestPrefix, outcome.blockedAt));
    }
  }
  return { checker: 'linearizability', verdict: combineVerdicts(verdicts), violations };
}
