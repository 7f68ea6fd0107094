import type { HolderRef, LeadershipEvent, LeaseView, MirrorPage } from '@omnirelay/leadership-fsm';
import { ServerError } from '../errors/error-table';

/**
 * LeaseTokenJson is the lease token as every public JSON surface (HTTP answers, the SSE stream)
 * shows it, with the names DISC-002 fixes: `leaderId, scope, term, fenceToken, expiresAt`, then
 * the millisecond fields and the rest of the lease. `fenceToken` is a uint64 as a decimal string;
 * `expiresAt` is `expiresAtMs` as an RFC 3339 UTC time (expiresAtOf).
 */
export interface LeaseTokenJson {
  /** leaderId is the candidate holding the scope (the state machine's candidateId). */
  readonly leaderId: string;
  readonly scope: string;
  /** term counts the scope's holder changes up to and including this grant (the FSM's scopeTerm). */
  readonly term: number;
  readonly fenceToken: string;
  /** expiresAt is expiresAtMs as an RFC 3339 UTC time with milliseconds, e.g. `2026-12-04T11:30:00.123Z`. */
  readonly expiresAt: string;
  /** expiresAtMs is the replicated deadline in lease time (the leader's stamps), ms since the epoch. */
  readonly expiresAtMs: number;
  readonly ttlMs: number;
  readonly revision: number;
  readonly sessionId: string;
  readonly metadata: string;
  readonly grantedAtMs: number;
  readonly lastRenewedAtMs: number;
}

/** HolderRefJson names a former holder on the JSON surfaces: `{leaderId, fenceToken}`. */
export interface HolderRefJson {
  readonly leaderId: string;
  readonly fenceToken: string;
}

/**
 * expiresAtOf is the one way the server turns a replicated deadline (lease time, ms since the
 * epoch) into `expiresAt`: the same deadline gives the same string on the leader, on a follower
 * and after a snapshot restore, because it is computed from the replicated value and never from
 * this node's clock. Every lease has a deadline (a TTL is required and bounded by
 * LEASE_TTL_MS_MAX, and stamps by STAMP_MS_MAX), so one that is not a non-negative safe integer
 * is a bug, answered as INTERNAL rather than as a made-up time.
 */
export function expiresAtOf(expiresAtMs: number): string {
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) {
    throw new ServerError('INTERNAL', `lease deadline ${expiresAtMs} ms is not a time; every lease has one`);
  }
  return new Date(expiresAtMs).toISOString();
}

/** leaseTokenJson is `lease` with the DISC-002 names (see LeaseTokenJson). */
export function leaseTokenJson(lease: LeaseView): LeaseTokenJson {
  return {
    leaderId: lease.candidateId,
    scope: lease.scope,
    term: lease.scopeTerm,
    fenceToken: lease.fenceToken.toString(),
    expiresAt: expiresAtOf(lease.deadlineMs),
    expiresAtMs: lease.deadlineMs,
    ttlMs: lease.leaseTtlMs,
    revision: lease.revision,
    sessionId: lease.sessionId,
    metadata: lease.metadata,
    grantedAtMs: lease.grantedStampMs,
    lastRenewedAtMs: lease.lastRenewalStampMs,
  };
}

/** optionalLeaseTokenJson is leaseTokenJson for a lease that may be absent (a vacant scope: null). */
export function optionalLeaseTokenJson(lease: LeaseView | null): LeaseTokenJson | null {
  return lease === null ? null : leaseTokenJson(lease);
}

/** holderRefJson is a former holder with the DISC-002 names. */
export function holderRefJson(ref: HolderRef): HolderRefJson {
  return { leaderId: ref.candidateId, fenceToken: ref.fenceToken.toString() };
}

/**
 * leadershipEventJson is one holder change as the SSE stream sends it: the event's `scopeTerm`
 * is `term`, the new holder a lease token and the previous one a HolderRefJson.
 */
export function leadershipEventJson(e: LeadershipEvent): Record<string, unknown> {
  return {
    revision: e.revision,
    scope: e.scope,
    term: e.scopeTerm,
    reason: e.reason,
    holder: optionalLeaseTokenJson(e.holder),
    previousHolder: e.previousHolder === null ? null : holderRefJson(e.previousHolder),
    correlationId: e.correlationId,
    raftTerm: e.raftTerm,
    proposerId: e.proposerId,
    stampMs: e.stampMs,
    principal: e.principal,
  };
}

/**
 * withLeaseTokens gives a write's or read's answer the DISC-002 names: each of its lease fields
 * (`lease`, `holder`, `successor`, `current`, `leader`) becomes a lease token, a `previousHolder`
 * a HolderRefJson, and a renewal's `deadlineMs` becomes `expiresAtMs` with `expiresAt`. Other
 * fields are left as they are.
 */
export function withLeaseTokens(answer: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(answer)) {
    if (LEASE_KEYS.has(key)) out[key] = optionalLeaseTokenJson(value as LeaseView | null);
    else if (key === 'previousHolder') out[key] = value === null ? null : holderRefJson(value as HolderRef);
    else if (key === 'deadlineMs' && typeof value === 'number') {
      out['expiresAt'] = expiresAtOf(value);
      out['expiresAtMs'] = value;
    } else out[key] = value;
  }
  return out;
}

/** LEASE_KEYS are the answer fields that hold a LeaseView (or null). */
const LEASE_KEYS: ReadonlySet<string> = new Set(['lease', 'holder', 'successor', 'current', 'leader']);

/**
 * mirrorPageJson is GET /control/mirror's answer: the passive mirror's page with each mirrored
 * holder under the DISC-002 names (`leaderId`, `term`, `fenceToken`, `ttlMs`, `grantedAtMs`).
 * The mirror keeps no renewals, so it has no deadline and no `expiresAt`.
 */
export function mirrorPageJson(page: MirrorPage): object {
  return {
    ...page,
    scopes: page.scopes.map((s) => ({
      scope: s.scope,
      revision: s.revision,
      lastFenceToken: s.lastFenceToken.toString(),
      holder:
        s.holder === null
          ? null
          : {
              leaderId: s.holder.candidateId,
              term: s.holder.scopeTerm,
              fenceToken: s.holder.fenceToken.toString(),
              ttlMs: s.holder.leaseTtlMs,
              grantedAtMs: s.holder.grantedStampMs,
              metadata: s.holder.metadata,
            },
    })),
  };
}
