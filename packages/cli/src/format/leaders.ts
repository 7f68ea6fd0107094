import type { HolderRef, LeadershipEvent, LeaseView } from '@omnirelay/client-sdk';
import { formatDurationMs, formatStampMs } from './duration';
import type { JsonValue } from './json';
import { jsonDocument, jsonLine } from './json';
import { renderTable } from './table';

/** LEADERS_HEADERS are the columns of the leaders table. */
export const LEADERS_HEADERS = ['SCOPE', 'HOLDER', 'FENCE', 'TERM', 'TTL', 'EXPIRES-IN'] as const;

/** Selection says which scopes a listing covers, for the line shown when none is held. */
export type Selection =
  | { readonly kind: 'all' }
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'scope'; readonly scope: string };

/** sortLeases orders leases by scope name (byte order), so every listing is deterministic. */
export function sortLeases(leases: readonly LeaseView[]): LeaseView[] {
  return [...leases].sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0));
}

/**
 * leadersTable renders the current holders, sorted by scope. EXPIRES-IN is the lease deadline
 * (on the Raft leader's clock) minus `nowMs`; it is negative while an overdue lease waits for
 * the leader's Expire to commit. No lease prints one line saying so instead of an empty table.
 */
export function leadersTable(leases: readonly LeaseView[], nowMs: number, selection: Selection): string {
  if (leases.length === 0) return `${noHolderText(selection)}\n`;
  return renderTable(
    LEADERS_HEADERS,
    sortLeases(leases).map((l) => [
      l.scope,
      l.candidateId,
      l.fence.toString(),
      l.term.toString(),
      formatDurationMs(l.ttlMs),
      formatDurationMs(l.deadlineMs - nowMs),
    ]),
  );
}

/** noHolderText is the line shown instead of an empty leaders table. */
export function noHolderText(selection: Selection): string {
  switch (selection.kind) {
    case 'all':
      return 'no scope has a holder';
    case 'prefix':
      return `no scope under ${JSON.stringify(selection.prefix)} has a holder`;
    case 'scope':
      return `scope ${JSON.stringify(selection.scope)} has no holder (vacant)`;
  }
}

/**
 * leaseJson is a lease in the CLI's JSON shape, the lease token with the DISC-002 names first
 * (`leaderId, scope, term, fenceToken, expiresAt`): bigints (fence token, term, revision) as
 * decimal strings, `expiresAt` as RFC 3339 UTC (the SDK's expiresAtOf, from `expiresAtMs`), and
 * times as milliseconds since the epoch on the Raft leader's clock.
 */
export function leaseJson(l: LeaseView): JsonValue {
  return {
    leaderId: l.leaderId,
    scope: l.scope,
    term: l.term.toString(),
    fenceToken: l.fenceToken.toString(),
    expiresAt: l.expiresAt,
    expiresAtMs: l.expiresAtMs,
    ttlMs: l.ttlMs,
    metadata: l.metadata,
    grantedAtMs: l.grantedAtMs,
    lastRenewedAtMs: l.lastRenewedAtMs,
    revision: l.revision.toString(),
  };
}

/** holderRefJson is a former holder in the CLI's JSON shape: `{leaderId, fenceToken}`. */
export function holderRefJson(h: HolderRef): JsonValue {
  return { leaderId: h.leaderId, fenceToken: h.fenceToken.toString() };
}

/** leadersJson renders `{"leaders": [lease, ...]}`, sorted by scope (empty when none is held). */
export function leadersJson(leases: readonly LeaseView[]): string {
  return jsonDocument({ leaders: sortLeases(leases).map(leaseJson) });
}

/**
 * snapshotJsonLine is the first line of `--watch -o json`: `{"type":"snapshot","leaders":[...]}`.
 * It is printed again (after a one-line notice on stderr) when the watch had to start over.
 */
export function snapshotJsonLine(leases: readonly LeaseView[]): string {
  return jsonLine({ type: 'snapshot', leaders: sortLeases(leases).map(leaseJson) });
}

/** eventJson is one holder change in the CLI's JSON shape (see the README). */
export function eventJson(e: LeadershipEvent): JsonValue {
  return {
    type: 'event',
    revision: e.revision.toString(),
    scope: e.scope,
    reason: e.reason,
    term: e.term.toString(),
    holder: e.holder === null ? null : leaseJson(e.holder),
    previous: e.previous === null ? null : holderRefJson(e.previous),
    raftTerm: e.raftTerm.toString(),
    proposerId: e.proposerId,
    principal: e.principal,
    correlationId: e.correlationId,
    stampMs: e.stampMs,
  };
}

/** eventJsonLine renders one holder change as one line of JSON. */
export function eventJsonLine(e: LeadershipEvent): string {
  return jsonLine(eventJson(e));
}

/**
 * eventLine renders one holder change as one `key=value` line: the leader's stamp, revision,
 * scope, reason, the new holder (`-` when the scope fell vacant) and the previous one as
 * `<holder>/<fence>`.
 */
export function eventLine(e: LeadershipEvent): string {
  const holder = e.holder;
  const fields = [
    formatStampMs(e.stampMs),
    `revision=${e.revision}`,
    `scope=${e.scope}`,
    `reason=${e.reason}`,
    `holder=${holder === null ? '-' : word(holder.candidateId)}`,
    `fence=${holder === null ? '-' : holder.fence.toString()}`,
    `term=${e.term}`,
    `ttl=${holder === null ? '-' : formatDurationMs(holder.ttlMs)}`,
    `previous=${e.previous === null ? '-' : `${word(e.previous.candidateId)}/${e.previous.fence}`}`,
  ];
  return `${fields.join(' ')}\n`;
}

/** word quotes a value that would break a `key=value` line (spaces, quotes, `=`, empty). */
function word(value: string): string {
  return value === '' || /[\s"=]/.test(value) ? JSON.stringify(value) : value;
}
