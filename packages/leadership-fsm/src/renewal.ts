import type { GraceCommand, RenewCommand } from './commands';
import { fenceTokenProblem } from './commands';
import { LeadershipError } from './errors';
import type { GraceOutcome, RenewItem, RenewOutcome } from './results';
import { scopeNameProblem } from './scope-name';
import type { EntryContext, FsmState } from './state';

/**
 * applyRenew renews every listed lease whose fence is the holder's: its last renewal becomes the
 * entry's stamp and its deadline stamp + TTL. Other leases are reported one by one (STALE_FENCE
 * with the current fence, or a bad scope or fence) and do not fail the batch; so is a lease this
 * cluster inherited from the old active at a promotion (it ends at its deadline, never renewed). A lease listed
 * twice is renewed twice to the same values.
 */
export function applyRenew(state: FsmState, command: RenewCommand, ctx: EntryContext): RenewOutcome {
  let renewedCount = 0;
  const leases = command.leases.map(({ scope, fenceToken }): RenewItem => {
    // Only a valid name ever has a record, so a name is checked only when it has none: the same
    // answers, without walking every renewed lease's name.
    const record = state.scopes.get(scope);
    if (record === undefined && scopeNameProblem(scope) !== null) {
      return { scope, fenceToken, renewed: false, code: 'INVALID_SCOPE', currentFenceToken: null };
    }
    if (fenceTokenProblem(fenceToken) !== null) {
      return { scope, fenceToken, renewed: false, code: 'INVALID_ARGUMENT', currentFenceToken: null };
    }
    const holder = record?.holder ?? null;
    // A lease inherited from the old active at a promotion is not renewed here: its holder's
    // session ended with that cluster, and the lease ends at its deadline (STALE_FENCE, naming it).
    if (
      record === undefined ||
      holder === null ||
      holder.fenceToken !== fenceToken ||
      state.isInherited(holder)
    ) {
      return {
        scope,
        fenceToken,
        renewed: false,
        code: 'STALE_FENCE',
        currentFenceToken: holder?.fenceToken ?? null,
      };
    }
    state.beforeChange(record);
    holder.lastRenewalStampMs = ctx.stampMs;
    holder.deadlineMs = ctx.stampMs + holder.leaseTtlMs;
    state.trackDeadline(record, holder);
    renewedCount++;
    // The answer names the record's own scope and fence (equal to the listed ones), so the decoded
    // lease dies with the entry while its answer waits to be sent: on a loaded leader that wait
    // outlasts a young collection, and every object it holds is copied.
    return {
      scope: record.name,
      fenceToken: holder.fenceToken,
      renewed: true,
      deadlineMs: holder.deadlineMs,
    };
  });
  return { type: 'renew', renewedCount, leases };
}

/**
 * applyGrace gives every live lease `deadlineMs = max(deadlineMs, min(tookOfficeStampMs +
 * graceMs, lastRenewalStampMs + leaseTtlMs + capMs))`: a new Raft leader neither expires a lease
 * early (its renewals could not get through while there was no leader; the deadline never moves
 * back) nor gives it a full TTL, and with capMs no chain of leader changes keeps a lease alive
 * longer than TTL + capMs after its last renewal. INVALID_ARGUMENT when the took-office stamp is
 * after the entry's own stamp, which a correct leader never proposes.
 */
export function applyGrace(state: FsmState, command: GraceCommand, ctx: EntryContext): GraceOutcome {
  if (command.tookOfficeStampMs > ctx.stampMs) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `tookOfficeStampMs ${command.tookOfficeStampMs} is after the entry's stamp ${ctx.stampMs}`,
      { field: 'tookOfficeStampMs' },
    );
  }
  const graceDeadlineMs = command.tookOfficeStampMs + command.graceMs;
  // Each extension moves a deadline later, which the deadline index records in O(1) without
  // moving the lease in its heap; only the leader's later queries catch up, a bounded share per
  // call. No replica rebuilds the index here: at 100,000 leases that rebuild held every node's
  // event loop 0.4–1.3 s at each leader change, long enough for the next election.
  let extendedCount = 0;
  for (const record of state.heldRecords()) {
    const holder = record.holder!;
    const target =
      command.capMs === undefined
        ? graceDeadlineMs
        : Math.min(graceDeadlineMs, holder.lastRenewalStampMs + holder.leaseTtlMs + command.capMs);
    if (holder.deadlineMs < target) {
      state.beforeChange(record);
      holder.deadlineMs = target;
      state.trackDeadline(record, holder);
      extendedCount++;
    }
  }
  return { type: 'grace', extendedCount, graceDeadlineMs };
}
