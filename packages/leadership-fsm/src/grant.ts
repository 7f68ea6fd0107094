import { assert } from './assert';
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
  const lease = state.newLease(command.candidateId, command.metadata, command.leaseTtlMs, ctx);
  state.changeHolder(record, lease, 'granted', ctx);
  return leaseView(scope, record.scopeTerm, lease);
}

/**
 * applyAcquire grants `scope` if it is vacant; otherwise it answers who holds it. A candidate
 * that already holds the scope gets its current lease back unchanged (a retried acquire).
 */
export function applyAcquire(state: FsmState, command: AcquireCommand, ctx: EntryContext): AcquireOutcome {
  const record = state.scopes.get(command.scope);
  const holder = record?.holder ?? null;
  if (record !== undefined && holder !== null) {
    const view = leaseView(record.name, record.scopeTerm, holder);
    return holder.candidateId === command.candidateId
      ? { type: 'acquire', granted: true, alreadyHolder: true, lease: view }
      : { type: 'acquire', granted: false, holder: view };
  }
  return {
    type: 'acquire',
    granted: true,
    alreadyHolder: false,
    lease: grantVacant(state, record, command.scope, command, ctx),
  };
}

/**
 * applyCampaign grants a vacant scope at once, or queues the candidate by priority (ties to the
 * earliest entry). A candidate already holding or waiting is answered with what it has, and
 * nothing changes; the queue is bounded by QUEUE_LENGTH_MAX (QUEUE_FULL).
 */
export function applyCampaign(state: FsmState, command: CampaignCommand, ctx: EntryContext): CampaignOutcome {
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
  if (holder.candidateId === command.candidateId) {
    return { type: 'campaign', elected: true, alreadyHolder: true, lease: holderView };
  }
  const existing = record.queue.position(command.candidateId);
  if (existing !== -1) {
    return { type: 'campaign', elected: false, alreadyWaiting: true, position: existing, holder: holderView };
  }
  state.beforeChange(record);
  const position = record.queue.insert(
    {
      candidateId: command.candidateId,
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

/** applyWithdraw takes a candidate out of a scope's queue; NOT_WAITING when it is not there. */
export function applyWithdraw(state: FsmState, command: WithdrawCommand): WithdrawOutcome {
  const record = state.scopes.get(command.scope);
  if (record === undefined || state.removeWaiter(record, command.candidateId) === undefined) {
    throw new LeadershipError(
      'NOT_WAITING',
      `candidate ${JSON.stringify(command.candidateId)} is not waiting for scope ${JSON.stringify(command.scope)}`,
      { scope: command.scope, field: 'candidateId' },
    );
  }
  return { type: 'withdraw', scope: command.scope, candidateId: command.candidateId };
}
