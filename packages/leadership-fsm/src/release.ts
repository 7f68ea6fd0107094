import type { ExpireCommand, ResignCommand, StepDownCommand } from './commands';
import { refuseUnlessGranting } from './cluster-apply';
import { fenceTokenProblem } from './commands';
import { LeadershipError } from './errors';
import type { Lease } from './lease';
import { leaseView } from './lease';
import type { ExpireItem, ExpireOutcome, ResignOutcome, StepDownOutcome } from './results';
import { scopeNameProblem } from './scope-name';
import type { EntryContext, FsmState, ScopeRecord } from './state';

function staleFence(scope: string, fenceToken: bigint, record: ScopeRecord | undefined): LeadershipError {
  const current = record?.holder?.fenceToken ?? null;
  return new LeadershipError(
    'STALE_FENCE',
    `fence ${fenceToken} is not the holder's fence of scope ${JSON.stringify(scope)} (current: ${current === null ? 'vacant' : current})`,
    { scope, fenceToken, currentFenceToken: current },
  );
}

/**
 * applyResign ends the lease whose fence is given, if it is still the holder's (else
 * STALE_FENCE and nothing changes); the queue's best waiter is promoted in the same entry.
 */
export function applyResign(state: FsmState, command: ResignCommand, ctx: EntryContext): ResignOutcome {
  const record = state.scopes.get(command.scope);
  if (record === undefined || record.holder === null || record.holder.fenceToken !== command.fenceToken) {
    throw staleFence(command.scope, command.fenceToken, record);
  }
  if (record.queue.length > 0) {
    refuseUnlessGranting(state, ctx, 'a resignation that promotes a waiter');
  }
  const next = state.endLease(record, 'resigned', ctx);
  return {
    type: 'resign',
    scope: record.name,
    successor: next === null ? null : leaseView(record.name, record.scopeTerm, next),
  };
}

/**
 * applyExpire ends each listed lease whose fence is still the holder's and whose deadline is at
 * or before the entry's stamp; any other lease is left alone with its reason (a renewal that
 * won the race makes it NOT_DUE). Leases are taken in the batch's order.
 */
export function applyExpire(state: FsmState, command: ExpireCommand, ctx: EntryContext): ExpireOutcome {
  // A listed scope with waiters would promote one: refused as a whole before anything changes
  // when this cluster cannot grant (only at FENCE_INDEX_MAX: a passive cluster has no waiters).
  if (command.leases.some(({ scope }) => (state.scopes.get(scope)?.queue.length ?? 0) > 0)) {
    refuseUnlessGranting(state, ctx, 'an expiry that promotes a waiter');
  }
  let expiredCount = 0;
  const leases = command.leases.map(({ scope, fenceToken }): ExpireItem => {
    if (scopeNameProblem(scope) !== null) {
      return { scope, fenceToken, expired: false, reason: 'INVALID_SCOPE', deadlineMs: null };
    }
    if (fenceTokenProblem(fenceToken) !== null) {
      return { scope, fenceToken, expired: false, reason: 'INVALID_ARGUMENT', deadlineMs: null };
    }
    const record = state.scopes.get(scope);
    const holder = record?.holder ?? null;
    if (record === undefined || holder === null || holder.fenceToken !== fenceToken) {
      return { scope, fenceToken, expired: false, reason: 'STALE_FENCE', deadlineMs: null };
    }
    if (holder.deadlineMs > ctx.stampMs) {
      return { scope, fenceToken, expired: false, reason: 'NOT_DUE', deadlineMs: holder.deadlineMs };
    }
    expiredCount++;
    const next = state.endLease(record, 'expired', ctx);
    return {
      scope,
      fenceToken,
      expired: true,
      successor: next === null ? null : leaseView(scope, record.scopeTerm, next),
    };
  });
  return { type: 'expire', expiredCount, leases };
}

/**
 * applyStepDown removes a scope's holder on an operator's word. With a successor, the successor
 * takes the scope (reason `preempted`): a `waiting` successor must be in the queue (NOT_WAITING
 * otherwise) and keeps its campaign terms; an `explicit` one gets the terms given and leaves the
 * queue if it was in it. Without one, the queue's best waiter is promoted or the scope falls
 * vacant (reason `steppedDown`). NOT_HOLDER for a vacant scope; STALE_FENCE when a given fence
 * is not the holder's; INVALID_ARGUMENT when the successor is the holder itself.
 */
export function applyStepDown(state: FsmState, command: StepDownCommand, ctx: EntryContext): StepDownOutcome {
  const { scope, successor } = command;
  const record = state.scopes.get(scope);
  const holder = record?.holder ?? null;
  if (record === undefined || holder === null) {
    throw new LeadershipError('NOT_HOLDER', `scope ${JSON.stringify(scope)} has no holder to step down`, {
      scope,
    });
  }
  if (command.fenceToken !== undefined && command.fenceToken !== holder.fenceToken) {
    throw staleFence(scope, command.fenceToken, record);
  }
  if (successor !== undefined || record.queue.length > 0) {
    refuseUnlessGranting(state, ctx, 'a step-down to a successor');
  }
  const previousHolder = { candidateId: holder.candidateId, fenceToken: holder.fenceToken };
  if (successor === undefined) {
    const next = state.endLease(record, 'steppedDown', ctx);
    return {
      type: 'stepDown',
      scope,
      previousHolder,
      successor: next === null ? null : leaseView(scope, record.scopeTerm, next),
    };
  }
  if (successor.candidateId === holder.candidateId) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `successor ${JSON.stringify(successor.candidateId)} already holds scope ${JSON.stringify(scope)}`,
      { scope, field: 'successor' },
    );
  }
  let next: Lease;
  if (successor.kind === 'waiting') {
    const waiter = state.removeWaiter(record, successor.candidateId);
    if (waiter === undefined) {
      throw new LeadershipError(
        'NOT_WAITING',
        `successor ${JSON.stringify(successor.candidateId)} is not waiting for scope ${JSON.stringify(scope)}; name a waiting candidate or give an explicit successor`,
        { scope, field: 'successor' },
      );
    }
    next = state.leaseFromWaiter(waiter, ctx);
  } else {
    // An operator names a candidate, not a session: the lease belongs to the session the
    // candidate waits in, if it waits (its Campaign call hears it was elected), else to none ('').
    const waiter = state.removeWaiter(record, successor.candidateId);
    next = state.newLease(
      successor.candidateId,
      waiter?.sessionId ?? '',
      successor.metadata,
      successor.leaseTtlMs,
      ctx,
    );
  }
  state.changeHolder(record, next, 'preempted', ctx);
  return { type: 'stepDown', scope, previousHolder, successor: leaseView(scope, record.scopeTerm, next) };
}
