import { assert } from './assert';
import { refuseUnlessGranting } from './cluster-apply';
import type { AcquireCommand, CampaignCommand, WithdrawCommand } from './commands';
import { LeadershipError } from './errors';
import { leaseView } from './lease';
import type { AcquireOutcome, CampaignOutcome, WithdrawOutcome } from './results';
import type { EntryContext, FsmState, ScopeRecord } from './state';

/** grantVacant gives a vacant (or new) scope to a candidate at entry `ctx`, reason `granted`. */
function grantVacant(
  state: FsmState,
  existing: ScopeRecord | undefined,
  scope: string,
  command: AcquireCommand | CampaignCommand,
  ctx: EntryContext,
) {
  assert(existing === undefined || existing.queue.length === 0, () => `scope ${scope} vacant with waiters`);
  const record = existing ?? state.createScope(scope);
  const lease = state.newLease(
    command.candidateId,
    command.sessionId ?? '',
    command.metadata,
    command.leaseTtlMs,
    ctx,
  );
  state.changeHolder(record, lease, 'granted', ctx);
  return leaseView(scope, record.scopeTerm, lease);
}

/**
 * sameSession tells whether a request in `sessionId` (undefined: none) comes from the session
 * that holds or waits as `owner`. A request without a session is a session of its own, never
 * the same as any other: retrying it is not idempotent, but two such processes sharing a
 * candidate id cannot both hold the scope.
 */
function sameSession(owner: string, sessionId: string | undefined): boolean {
  return sessionId !== undefined && owner === sessionId;
}

/**
 * otherSession is the refusal of an acquire or campaign whose candidate id already holds
 * (`what`: 'holds') or waits for the scope in another client session.
 */
function otherSession(
  scope: string,
  command: AcquireCommand | CampaignCommand,
  what: 'holds' | 'is waiting for',
): LeadershipError {
  const session = command.sessionId === undefined ? 'a request without a session id' : 'this session';
  return new LeadershipError(
    'HELD_BY_OTHER_SESSION',
    `candidate ${JSON.stringify(command.candidateId)} ${what} scope ${JSON.stringify(scope)} in another client session, not ${session}; give each process its own candidate id, or wait for that session's lease to end`,
    { scope, field: 'candidateId' },
  );
}

/**
 * applyAcquire grants `scope` if it is vacant (CLUSTER_PASSIVE on a passive or draining cluster); otherwise it answers who holds it. A candidate
 * that already holds the scope in the same client session gets its current lease back unchanged
 * (a retried acquire); in another session, or without one, it is HELD_BY_OTHER_SESSION.
 */
export function applyAcquire(state: FsmState, command: AcquireCommand, ctx: EntryContext): AcquireOutcome {
  refuseUnlessGranting(state, ctx, 'acquire');
  const record = state.scopes.get(command.scope);
  const holder = record?.holder ?? null;
  if (record !== undefined && holder !== null) {
    const view = leaseView(record.name, record.scopeTerm, holder);
    if (holder.candidateId !== command.candidateId) {
      return { type: 'acquire', granted: false, holder: view };
    }
    if (!sameSession(holder.sessionId, command.sessionId)) {
      throw otherSession(record.name, command, 'holds');
    }
    return { type: 'acquire', granted: true, alreadyHolder: true, lease: view };
  }
  return {
    type: 'acquire',
    granted: true,
    alreadyHolder: false,
    lease: grantVacant(state, record, command.scope, command, ctx),
  };
}

/**
 * applyCampaign (CLUSTER_PASSIVE on a passive or draining cluster) grants a vacant scope at once, or queues the candidate by priority (ties to the
 * earliest entry). A candidate already holding or waiting in the same client session is answered
 * with what it has, and nothing changes; in another session (or without one) it is
 * HELD_BY_OTHER_SESSION. The candidate of a lease inherited from the old active at a promotion
 * queues like any other. The queue is bounded by QUEUE_LENGTH_MAX (QUEUE_FULL).
 */
export function applyCampaign(state: FsmState, command: CampaignCommand, ctx: EntryContext): CampaignOutcome {
  refuseUnlessGranting(state, ctx, 'campaign');
  const record = state.scopes.get(command.scope);
  const holder = record?.holder ?? null;
  if (record === undefined || holder === null) {
    return {
      type: 'campaign',
      elected: true,
      alreadyHolder: false,
      lease: grantVacant(state, record, command.scope, command, ctx),
    };
  }
  const holderView = leaseView(record.name, record.scopeTerm, holder);
  // A lease inherited from the old active belongs to a session that ended there: its own
  // candidate queues like any other and is elected after the inherited lease's deadline.
  if (holder.candidateId === command.candidateId && !state.isInherited(holder)) {
    if (!sameSession(holder.sessionId, command.sessionId)) {
      throw otherSession(record.name, command, 'holds');
    }
    return { type: 'campaign', elected: true, alreadyHolder: true, lease: holderView };
  }
  const existing = record.queue.position(command.candidateId);
  if (existing !== -1) {
    if (!sameSession(record.queue.get(command.candidateId)!.sessionId, command.sessionId)) {
      throw otherSession(record.name, command, 'is waiting for');
    }
    return { type: 'campaign', elected: false, alreadyWaiting: true, position: existing, holder: holderView };
  }
  state.beforeChange(record);
  const position = record.queue.insert(
    {
      candidateId: command.candidateId,
      sessionId: command.sessionId ?? '',
      metadata: command.metadata,
      leaseTtlMs: command.leaseTtlMs,
      priority: command.priority,
      joinedRevision: ctx.index,
    },
    record.name,
  );
  state.waitingCount++;
  return { type: 'campaign', elected: false, alreadyWaiting: false, position, holder: holderView };
}

/**
 * applyWithdraw takes a candidate out of a scope's queue; NOT_WAITING when it is not there, or
 * when the command names a session and the candidate waits in another one.
 */
export function applyWithdraw(state: FsmState, command: WithdrawCommand): WithdrawOutcome {
  const record = state.scopes.get(command.scope);
  if (
    record === undefined ||
    state.removeWaiter(record, command.candidateId, command.sessionId) === undefined
  ) {
    const inSession =
      command.sessionId === undefined ? '' : ` in session ${JSON.stringify(command.sessionId)}`;
    throw new LeadershipError(
      'NOT_WAITING',
      `candidate ${JSON.stringify(command.candidateId)} is not waiting for scope ${JSON.stringify(command.scope)}${inSession}`,
      { scope: command.scope, field: 'candidateId' },
    );
  }
  return { type: 'withdraw', scope: command.scope, candidateId: command.candidateId };
}
