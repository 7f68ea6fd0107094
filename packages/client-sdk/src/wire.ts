/**
 * The proto-loader object forms of the messages the SDK reads (proto/leadership.proto, loaded
 * with longs as strings and defaults filled in). Every uint64 arrives as a decimal string.
 */

/** WireLease is a Lease message. */
export interface WireLease {
  readonly scope: string;
  readonly candidateId: string;
  /** sessionId is '' when the lease has none (and from a server that predates sessions). */
  readonly sessionId: string;
  readonly metadata: string;
  readonly scopeTerm: string;
  readonly fenceToken: string;
  readonly leaseTtlMs: number;
  readonly deadlineMs: string;
  readonly lastRenewalStampMs: string;
  readonly grantedStampMs: string;
  readonly revision: string;
}

/** WireHolderRef is a HolderRef message. */
export interface WireHolderRef {
  readonly candidateId: string;
  readonly fenceToken: string;
}

/** WireEvent is a LeadershipEvent message. */
export interface WireEvent {
  readonly revision: string;
  readonly scope: string;
  readonly scopeTerm: string;
  readonly reason: string;
  readonly previousHolder: WireHolderRef | null;
  readonly holder: WireLease | null;
  readonly correlationId: string;
  readonly raftTerm: string;
  readonly proposerId: string;
  readonly stampMs: string;
  /** principal is absent from servers older than access control. */
  readonly principal?: string;
}

/** WireKeepAliveResult is a KeepAliveResult message. */
export interface WireKeepAliveResult {
  readonly scope: string;
  readonly fenceToken: string;
  readonly renewed: boolean;
  readonly deadlineMs: string;
  readonly errorCode: string;
  readonly currentFenceToken?: string | null;
}

/** big reads a uint64 field (a decimal string; absent reads as 0). */
export function big(value: string | number | null | undefined): bigint {
  if (value === null || value === undefined || value === '') return 0n;
  return BigInt(value);
}

/** LeaseView is a lease as the SDK shows it (another candidate's, or a past one). */
export interface LeaseView {
  readonly scope: string;
  readonly candidateId: string;
  /** sessionId is the client session holding the lease ('' for none); see OmniRelayClient.sessionId. */
  readonly sessionId: string;
  readonly metadata: string;
  /** term counts the scope's holder changes up to and including this grant. */
  readonly term: bigint;
  readonly fence: bigint;
  readonly ttlMs: number;
  /** deadlineMs is the leader's wall-clock deadline (its clock, not yours). */
  readonly deadlineMs: number;
  readonly grantedAtMs: number;
  readonly lastRenewedAtMs: number;
  readonly revision: bigint;
}

/** leaseView converts a Lease message. */
export function leaseView(w: WireLease): LeaseView {
  return {
    scope: w.scope,
    candidateId: w.candidateId,
    sessionId: w.sessionId,
    metadata: w.metadata,
    term: big(w.scopeTerm),
    fence: big(w.fenceToken),
    ttlMs: w.leaseTtlMs,
    deadlineMs: Number(w.deadlineMs),
    grantedAtMs: Number(w.grantedStampMs),
    lastRenewedAtMs: Number(w.lastRenewalStampMs),
    revision: big(w.revision),
  };
}

/** optionalLeaseView converts a Lease message that may be unset. */
export function optionalLeaseView(w: WireLease | null | undefined): LeaseView | null {
  return w === null || w === undefined ? null : leaseView(w);
}

/** HolderChangeReason says why a scope's holder changed. */
export type HolderChangeReason = 'granted' | 'resigned' | 'expired' | 'steppedDown' | 'preempted' | 'unknown';

const REASONS: Readonly<Record<string, HolderChangeReason>> = {
  HOLDER_CHANGE_REASON_GRANTED: 'granted',
  HOLDER_CHANGE_REASON_RESIGNED: 'resigned',
  HOLDER_CHANGE_REASON_EXPIRED: 'expired',
  HOLDER_CHANGE_REASON_STEPPED_DOWN: 'steppedDown',
  HOLDER_CHANGE_REASON_PREEMPTED: 'preempted',
};

/** LeadershipEvent is one holder change, as Watch delivers it. */
export interface LeadershipEvent {
  /** revision is the Raft index of the change; events of one revision share it. */
  readonly revision: bigint;
  readonly scope: string;
  readonly term: bigint;
  readonly reason: HolderChangeReason;
  /** previous is the former holder, null when the scope was vacant. */
  readonly previous: { readonly candidateId: string; readonly fence: bigint } | null;
  /** holder is the new lease, null when the scope fell vacant. */
  readonly holder: LeaseView | null;
  readonly correlationId: string;
  readonly raftTerm: bigint;
  readonly proposerId: string;
  readonly stampMs: number;
  /** principal is the authenticated caller whose request made the change ('' for the server's own writes, or none named). */
  readonly principal: string;
}

/** leadershipEvent converts a LeadershipEvent message. */
export function leadershipEvent(w: WireEvent): LeadershipEvent {
  return {
    revision: big(w.revision),
    scope: w.scope,
    term: big(w.scopeTerm),
    reason: REASONS[w.reason] ?? 'unknown',
    previous:
      w.previousHolder === null
        ? null
        : { candidateId: w.previousHolder.candidateId, fence: big(w.previousHolder.fenceToken) },
    holder: optionalLeaseView(w.holder),
    correlationId: w.correlationId,
    raftTerm: big(w.raftTerm),
    proposerId: w.proposerId,
    stampMs: Number(w.stampMs),
    principal: w.principal ?? '',
  };
}
