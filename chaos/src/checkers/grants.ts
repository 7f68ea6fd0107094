import { grantKey, grantsFromEvents } from '../grants';
import type { AcknowledgedGrant } from '../grants';
import type { AuditEvent } from '../history';
import { formatMs } from '../operations';
import type { CheckResult } from '../verdict';
import { resultOf } from '../verdict';

/** GrantsInput is what checkGrants reads. */
export interface GrantsInput {
  /**
   * events is the committed history read back at the end of the run (after the last restart),
   * from the first revision, or undefined when the run has no audit file.
   */
  readonly events: readonly AuditEvent[] | undefined;
  /** acknowledged are the grants clients were told of (grantsFromOperations). */
  readonly acknowledged: readonly AcknowledgedGrant[];
  /** restartsNs are the times the whole cluster was killed and started again. */
  readonly restartsNs: readonly bigint[];
}

function checkCommitOrder(events: readonly AuditEvent[], violations: string[]): void {
  let previous: AuditEvent | undefined;
  for (const event of events) {
    if (previous !== undefined && event.revision < previous.revision) {
      violations.push(
        `${event.source}: revision ${event.revision} comes after revision ${previous.revision} (${previous.source}): the committed history is out of order`,
      );
    }
    previous = event;
  }
  const last = new Map<string, { fence: bigint; source: string }>();
  for (const grant of grantsFromEvents(events)) {
    const before = last.get(grant.scope);
    if (before !== undefined && grant.fence <= before.fence) {
      violations.push(
        `${grant.source}: scope ${grant.scope} granted fence ${grant.fence} to ${grant.candidate} after fence ${before.fence} (${before.source}): fences must be unique and strictly increasing`,
      );
    }
    if (before === undefined || grant.fence > before.fence) last.set(grant.scope, grant);
  }
}

function checkAcknowledgedKept(
  events: readonly AuditEvent[],
  acknowledged: readonly AcknowledgedGrant[],
  violations: string[],
): void {
  const committed = new Map<string, string>();
  for (const grant of grantsFromEvents(events))
    committed.set(grantKey(grant.scope, grant.fence), grant.candidate);
  for (const grant of acknowledged) {
    const candidate = committed.get(grantKey(grant.scope, grant.fence));
    if (candidate === undefined) {
      violations.push(
        `${grant.source}: scope ${grant.scope} fence ${grant.fence} was acknowledged to ${grant.candidate} but is not in the committed history: an acknowledged grant was lost`,
      );
    } else if (candidate !== grant.candidate) {
      violations.push(
        `${grant.source}: scope ${grant.scope} fence ${grant.fence} was acknowledged to ${grant.candidate} but the committed history grants it to ${candidate}`,
      );
    }
  }
}

function checkAcknowledgedUnique(acknowledged: readonly AcknowledgedGrant[], violations: string[]): void {
  const first = new Map<string, AcknowledgedGrant>();
  for (const grant of acknowledged) {
    const key = grantKey(grant.scope, grant.fence);
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, grant);
    else if (earlier.candidate !== grant.candidate) {
      violations.push(
        `${grant.source}: scope ${grant.scope} fence ${grant.fence} was acknowledged to ${grant.candidate} and to ${earlier.candidate} (${earlier.source}): a fence was reused`,
      );
    }
  }
}

function checkAfterRestarts(
  acknowledged: readonly AcknowledgedGrant[],
  restartsNs: readonly bigint[],
  violations: string[],
): void {
  for (const restartNs of restartsNs) {
    const highestBefore = new Map<string, AcknowledgedGrant>();
    // A lease that survived the restart is returned to its holder's session with its own fence
    // (a campaign or acquire by the holder): the same grant acknowledged again, not a new one.
    const heldBefore = new Map<string, string>();
    for (const grant of acknowledged) {
      const top = highestBefore.get(grant.scope);
      if (grant.ackNs < restartNs) heldBefore.set(grantKey(grant.scope, grant.fence), grant.candidate);
      if (grant.ackNs < restartNs && (top === undefined || grant.fence > top.fence)) {
        highestBefore.set(grant.scope, grant);
      }
    }
    for (const grant of acknowledged) {
      const top = highestBefore.get(grant.scope);
      const again = heldBefore.get(grantKey(grant.scope, grant.fence)) === grant.candidate;
      if (grant.invokeNs > restartNs && top !== undefined && grant.fence <= top.fence && !again) {
        violations.push(
          `${grant.source}: after the restart at ${formatMs(restartNs)} ms, scope ${grant.scope} granted fence ${grant.fence} to ${grant.candidate}, not above fence ${top.fence} acknowledged before it (${top.source})`,
        );
      }
    }
  }
}

/**
 * checkGrants checks the fences the cluster handed out:
 * 1. in the committed history, per scope, granted fences are unique and strictly increasing in
 *    commit (revision) order, and revisions never go back;
 * 2. every grant a client was acknowledged is in the committed history read back at the end —
 *    after a full-cluster kill and restart too — with the same candidate;
 * 3. no fence was acknowledged to two candidates;
 * 4. after each full restart, a grant asked for after it has a fence above every fence
 *    acknowledged before it in that scope — unless it is one of those grants acknowledged again
 *    to the same candidate (its lease survived the restart).
 */
export function checkGrants(input: GrantsInput): CheckResult {
  const violations: string[] = [];
  if (input.events !== undefined) {
    checkCommitOrder(input.events, violations);
    checkAcknowledgedKept(input.events, input.acknowledged, violations);
  }
  checkAcknowledgedUnique(input.acknowledged, violations);
  checkAfterRestarts(input.acknowledged, input.restartsNs, violations);
  return resultOf('grants', violations);
}
