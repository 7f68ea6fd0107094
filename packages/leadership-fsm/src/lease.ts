import { indexOfFence } from './fence';

/**
 * Lease is the holder of a scope, as the state machine keeps it. The fence token is the Raft
 * index of the entry that granted it, so it is unique in the scope's history and is the lease's
 * id together with the scope name.
 */
export interface Lease {
  /** candidateId is who holds the scope. */
  readonly candidateId: string;
  /**
   * sessionId is the client session the lease belongs to ('' when the grant carried none: an
   * entry written before sessions existed, a request without one, an operator's explicit
   * successor). Only an acquire or campaign of the same candidate in the same non-empty session
   * gets this lease back; any other is HELD_BY_OTHER_SESSION.
   */
  readonly sessionId: string;
  /** metadata is the holder's opaque string (an address, a JSON blob), at most METADATA_BYTES_MAX bytes. */
  readonly metadata: string;
  /**
   * fenceToken is fenceOf(failover epoch, index) of the granting entry (BigInt(index) in epoch 0);
   * strictly above every earlier fence of the scope.
   */
  readonly fenceToken: bigint;
  /** leaseTtlMs is the lease's time to live, fixed at grant; each renewal moves the deadline to stamp + TTL. */
  readonly leaseTtlMs: number;
  /** grantedStampMs is the stamp of the granting entry. */
  readonly grantedStampMs: number;
  /** lastRenewalStampMs is the stamp of the last renew entry that named this lease (the grant counts as one). */
  lastRenewalStampMs: number;
  /** deadlineMs is when the lease may be expired: an Expire entry stamped at or after it ends the lease. */
  deadlineMs: number;
}

/**
 * LeaseView is the lease token DESIGN.md's contracts name, as queries, results and events
 * hand it out: scope, holder, per-scope term, fence, deadline and the revision of the grant.
 * It is a plain, frozen-in-meaning copy: changing the state machine later does not change it.
 */
export interface LeaseView {
  readonly scope: string;
  readonly candidateId: string;
  /** sessionId is the client session holding the lease ('' for none; see Lease.sessionId). */
  readonly sessionId: string;
  readonly metadata: string;
  /** scopeTerm counts the scope's holder changes up to and including this grant. */
  readonly scopeTerm: number;
  readonly fenceToken: bigint;
  readonly leaseTtlMs: number;
  readonly deadlineMs: number;
  readonly lastRenewalStampMs: number;
  readonly grantedStampMs: number;
  /** revision is the revision (entry index) of the grant: the fence's index bits (Number(fenceToken) in epoch 0). */
  readonly revision: number;
}

/** leaseView copies `lease` of `scope` at `scopeTerm` into a LeaseView. */
export function leaseView(scope: string, scopeTerm: number, lease: Lease): LeaseView {
  return {
    scope,
    candidateId: lease.candidateId,
    sessionId: lease.sessionId,
    metadata: lease.metadata,
    scopeTerm,
    fenceToken: lease.fenceToken,
    leaseTtlMs: lease.leaseTtlMs,
    deadlineMs: lease.deadlineMs,
    lastRenewalStampMs: lease.lastRenewalStampMs,
    grantedStampMs: lease.grantedStampMs,
    revision: indexOfFence(lease.fenceToken),
  };
}
