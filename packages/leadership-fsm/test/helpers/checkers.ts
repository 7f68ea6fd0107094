import type {
  ApplyResult,
  LeadershipEvent,
  LeadershipFsm,
  LeaseView,
  ScopeView,
} from '@omnirelay/leadership-fsm';

import { indexOfFence } from '@omnirelay/leadership-fsm';
/**
 * The named invariant checkers of the leadership state machine (STYLE.md). Each throws an Error
 * naming the numbers involved when its invariant is broken, and returns nothing otherwise, so
 * unit tests, property tests, the server's tests and the chaos harness can all call them.
 */

/** allHolders lists every holder of `fsm` by walking every page of listHolders. */
export function allHolders(fsm: LeadershipFsm): LeaseView[] {
  const holders: LeaseView[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < 100_000; page++) {
    const result = fsm.listHolders(pageToken === undefined ? { limit: 7 } : { limit: 7, pageToken });
    holders.push(...result.holders);
    if (result.nextPageToken === null) {
      return holders;
    }
    pageToken = result.nextPageToken;
  }
  throw new Error('allHolders: listHolders did not end');
}

/**
 * checkSingleHolder checks invariant 1 (at most one holder per scope) from the event history:
 * every holder change must start from the holder the history says is current — a grant while
 * someone else holds the scope shows up as a second holder. When `holders` (the current
 * listing) is given, each scope must appear in it at most once and match the history.
 */
export function checkSingleHolder(events: readonly LeadershipEvent[], holders?: readonly LeaseView[]): void {
  const current = new Map<string, { candidateId: string; fenceToken: bigint }>();
  for (const event of events) {
    const was = current.get(event.scope) ?? null;
    const claimed = event.previousHolder;
    if (
      (was === null) !== (claimed === null) ||
      (was !== null &&
        claimed !== null &&
        (was.candidateId !== claimed.candidateId || was.fenceToken !== claimed.fenceToken))
    ) {
      throw new Error(
        `checkSingleHolder: revision ${event.revision} in ${event.scope} changes holder from ${describe(claimed)} but ${describe(was)} holds it`,
      );
    }
    if (event.holder === null) {
      current.delete(event.scope);
    } else {
      current.set(event.scope, {
        candidateId: event.holder.candidateId,
        fenceToken: event.holder.fenceToken,
      });
    }
  }
  if (holders === undefined) {
    return;
  }
  const seen = new Set<string>();
  for (const lease of holders) {
    if (seen.has(lease.scope)) {
      throw new Error(`checkSingleHolder: scope ${lease.scope} listed with two holders`);
    }
    seen.add(lease.scope);
    const expected = current.get(lease.scope);
    if (
      expected === undefined ||
      expected.candidateId !== lease.candidateId ||
      expected.fenceToken !== lease.fenceToken
    ) {
      throw new Error(
        `checkSingleHolder: ${lease.scope} is held by ${describe(lease)} but the events say ${describe(expected ?? null)}`,
      );
    }
  }
  if (seen.size !== current.size) {
    throw new Error(`checkSingleHolder: ${seen.size} scopes listed as held, the events say ${current.size}`);
  }
}

/**
 * checkFenceMonotonic checks invariant 2 on the event history: revisions never go back, each new
 * holder's fence carries the revision that granted it in its index bits (the fence itself in
 * failover epoch 0; a lease inherited from the old active at a promotion keeps that cluster's
 * fence), and within a scope each fence is strictly above every earlier one.
 */
export function checkFenceMonotonic(events: readonly LeadershipEvent[]): void {
  const last = new Map<string, bigint>();
  let lastRevision = 0;
  for (const event of events) {
    if (event.revision < lastRevision) {
      throw new Error(`checkFenceMonotonic: revision ${event.revision} after ${lastRevision}`);
    }
    lastRevision = event.revision;
    if (event.holder === null) {
      continue;
    }
    const fence = event.holder.fenceToken;
    // A lease inherited at a promotion keeps the old active's fence (granted in that cluster's log).
    const inherited =
      event.reason === 'granted' && event.previousHolder === null && event.holder.sessionId === '';
    if (indexOfFence(fence) !== event.revision && !inherited) {
      throw new Error(`checkFenceMonotonic: fence ${fence} granted at revision ${event.revision}`);
    }
    const previous = last.get(event.scope) ?? 0n;
    if (fence <= previous) {
      throw new Error(
        `checkFenceMonotonic: ${event.scope} fence ${fence} not above earlier fence ${previous}`,
      );
    }
    last.set(event.scope, fence);
  }
}

/**
 * checkStaleFencesRejected checks invariant 4: for each scope, `validateFence` accepts the
 * current holder's fence and nothing else — every fence the history ever issued there, and a
 * token from the future, are stale.
 */
export function checkStaleFencesRejected(fsm: LeadershipFsm, events: readonly LeadershipEvent[]): void {
  const issued = new Map<string, Set<bigint>>();
  for (const event of events) {
    const fences = issued.get(event.scope) ?? new Set<bigint>();
    if (event.holder !== null) {
      fences.add(event.holder.fenceToken);
    }
    issued.set(event.scope, fences);
  }
  const future = BigInt(fsm.lastAppliedIndex + 1);
  for (const [scope, fences] of issued) {
    const holder = fsm.getHolder(scope);
    for (const fence of [...fences, future, 0n]) {
      const expected = holder !== null && holder.fenceToken === fence;
      if (fsm.validateFence(scope, fence) !== expected) {
        throw new Error(`checkStaleFencesRejected: validateFence(${scope}, ${fence}) should be ${expected}`);
      }
    }
  }
}

/** checkQueueOrder checks that a scope's queue is in promotion order: priority down, then join order up. */
export function checkQueueOrder(view: ScopeView): void {
  view.waiting.forEach((waiter, i) => {
    const before = view.waiting[i - 1];
    if (
      before !== undefined &&
      !(
        before.priority > waiter.priority ||
        (before.priority === waiter.priority && before.joinedRevision < waiter.joinedRevision)
      )
    ) {
      throw new Error(
        `checkQueueOrder: ${view.scope} has ${waiter.candidateId}(p${waiter.priority}, r${waiter.joinedRevision}) after ${before.candidateId}(p${before.priority}, r${before.joinedRevision})`,
      );
    }
  });
  if (view.holder === null && view.waiting.length > 0) {
    throw new Error(`checkQueueOrder: ${view.scope} is vacant with ${view.waiting.length} waiting`);
  }
}

function describe(holder: { candidateId: string; fenceToken: bigint } | null): string {
  return holder === null ? 'nobody' : `${holder.candidateId}@${holder.fenceToken}`;
}

/**
 * checkSessionOwner checks invariant 6 (a lease belongs to one client session) for the answer to
 * one acquire or campaign by `candidateId` in `sessionId` (undefined: none): a lease handed back
 * as the asker's must carry the asker's session, and only a request in that same, non-empty
 * session may get an existing lease back (`alreadyHolder`). A second process sharing the
 * candidate id in another session would otherwise hold the same fence.
 */
export function checkSessionOwner(
  candidateId: string,
  sessionId: string | undefined,
  result: ApplyResult,
): void {
  if (!result.ok || (result.outcome.type !== 'acquire' && result.outcome.type !== 'campaign')) {
    return;
  }
  const o = result.outcome;
  const mine = o.type === 'acquire' ? (o.granted ? o.lease : null) : o.elected ? o.lease : null;
  const alreadyHolder = mine !== null && 'alreadyHolder' in o && o.alreadyHolder;
  if (mine !== null && (mine.candidateId !== candidateId || mine.sessionId !== (sessionId ?? ''))) {
    throw new Error(
      `session owner: ${candidateId} in session ${JSON.stringify(sessionId ?? '')} got the lease of ${mine.candidateId} in session ${JSON.stringify(mine.sessionId)} at fence ${mine.fenceToken}`,
    );
  }
  if (alreadyHolder && (sessionId === undefined || sessionId === '')) {
    throw new Error(`session owner: a request without a session got ${candidateId}'s lease back`);
  }
}
