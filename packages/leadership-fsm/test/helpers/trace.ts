import type { ApplyResult, DueLease, LeadershipEvent, LeaseView, ScopeView } from '@omnirelay/leadership-fsm';

/**
 * The text forms scenario tests print: one line per entry result, an indented line per event,
 * and short forms of leases and queries. Changing a form changes every golden file, so keep
 * them stable and readable.
 */

/** session prints ` session=S`, or nothing for a lease or waiter without a session. */
function session(sessionId: string): string {
  return sessionId === '' ? '' : ` session=${sessionId}`;
}

/** lease prints a lease as `candidate@fence term=T ttl=N deadline=D [meta="…"] [session=S]`. */
export function lease(view: LeaseView): string {
  const meta = view.metadata === '' ? '' : ` meta=${JSON.stringify(view.metadata)}`;
  return `${view.candidateId}@${view.fenceToken} term=${view.scopeTerm} ttl=${view.leaseTtlMs} deadline=${view.deadlineMs}${meta}${session(view.sessionId)}`;
}

function holderOrNone(view: LeaseView | null): string {
  return view === null ? 'none' : lease(view);
}

/** event prints a holder change on one line. */
export function event(e: LeadershipEvent): string {
  const from =
    e.previousHolder === null ? '-' : `${e.previousHolder.candidateId}@${e.previousHolder.fenceToken}`;
  const to =
    e.holder === null ? '-' : `${e.holder.candidateId}@${e.holder.fenceToken}${session(e.holder.sessionId)}`;
  return `  event rev=${e.revision} ${e.scope} term=${e.scopeTerm} ${e.reason}: ${from} -> ${to} corr=${e.correlationId} raft-term=${e.raftTerm} by=${e.proposerId} at=${e.stampMs}`;
}

/** result prints an entry's result (one or more lines) followed by its events. */
export function result(r: ApplyResult): string[] {
  if (!r.ok) {
    return [`${r.index}: error ${r.error.code}: ${r.error.message}`];
  }
  const o = r.outcome;
  const head = `${r.index}: ok ${o.type}`;
  const lines: string[] = [];
  switch (o.type) {
    case 'acquire':
      lines.push(
        o.granted
          ? `${head} ${o.alreadyHolder ? 'already-holder' : 'granted'} ${lease(o.lease)}`
          : `${head} held-by ${lease(o.holder)}`,
      );
      break;
    case 'campaign':
      lines.push(
        o.elected
          ? `${head} ${o.alreadyHolder ? 'already-holder' : 'elected'} ${lease(o.lease)}`
          : `${head} ${o.alreadyWaiting ? 'already-waiting' : 'waiting'} position=${o.position} holder=${o.holder.candidateId}@${o.holder.fenceToken}`,
      );
      break;
    case 'withdraw':
      lines.push(`${head} ${o.candidateId} left ${o.scope}`);
      break;
    case 'resign':
      lines.push(`${head} successor=${holderOrNone(o.successor)}`);
      break;
    case 'renew':
      lines.push(`${head} renewed=${o.renewedCount}`);
      for (const item of o.leases) {
        lines.push(
          item.renewed
            ? `  renewed ${item.scope}@${item.fenceToken} deadline=${item.deadlineMs}`
            : `  not-renewed ${item.scope}@${item.fenceToken} ${item.code} current=${item.currentFenceToken ?? 'none'}`,
        );
      }
      break;
    case 'expire':
      lines.push(`${head} expired=${o.expiredCount}`);
      for (const item of o.leases) {
        lines.push(
          item.expired
            ? `  expired ${item.scope}@${item.fenceToken} successor=${holderOrNone(item.successor)}`
            : `  kept ${item.scope}@${item.fenceToken} ${item.reason}${item.deadlineMs === null ? '' : ` deadline=${item.deadlineMs}`}`,
        );
      }
      break;
    case 'stepDown':
      lines.push(
        `${head} removed=${o.previousHolder.candidateId}@${o.previousHolder.fenceToken} successor=${holderOrNone(o.successor)}`,
      );
      break;
    case 'grace':
      lines.push(`${head} extended=${o.extendedCount} until=${o.graceDeadlineMs}`);
      break;
  }
  return [...lines, ...r.events.map(event)];
}

/** scope prints a scope's state: holder and queue in promotion order. */
export function scope(view: ScopeView | null, name: string): string[] {
  if (view === null) {
    return [`scope ${name}: unknown`];
  }
  return [
    `scope ${name}: term=${view.scopeTerm} revision=${view.revision} holder=${holderOrNone(view.holder)}`,
    ...view.waiting.map(
      (w, i) =>
        `  waiting ${i} ${w.candidateId} priority=${w.priority} joined=${w.joinedRevision} ttl=${w.leaseTtlMs}${session(w.sessionId)}`,
    ),
  ];
}

/** due prints a due lease. */
export function due(entry: DueLease): string {
  return `${entry.scope}@${entry.fenceToken} deadline=${entry.deadlineMs}`;
}
