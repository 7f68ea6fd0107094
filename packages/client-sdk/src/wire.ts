import { OmniRelayError } from './errors';

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

/**
 * WireKeepAliveResult is what the SDK reads of a KeepAliveResult message: the KeepAlive decoder
 * (proto.ts) leaves the echoed scope, fence and deadline undecoded into strings, since a renewal
 * is matched to its lease by position and confirmed from its request's send time.
 */
export interface WireKeepAliveResult {
  readonly renewed: boolean;
  readonly errorCode: string;
  /** currentFenceToken is the scope's current fence when not renewed (absent when vacant). */
  readonly currentFenceToken?: bigint;
}

/**
 * WireUint64 is a uint64 as protobufjs encodes it: its low and high 32 bits. Given a decimal
 * string instead, the encoder parses it with Long.fromString for every message it encodes.
 */
export interface WireUint64 {
  readonly low: number;
  readonly high: number;
  readonly unsigned: true;
}

/** uint64ToWire converts a uint64 (a fence token, 0..2^64-1) into its WireUint64 bits. */
export function uint64ToWire(value: bigint): WireUint64 {
  return { low: Number(value & 0xffffffffn) | 0, high: Number(value >> 32n) | 0, unsigned: true };
}

/** uint64FromWire reads a decoded uint64: a Long (low and high bits), or a number where protobufjs has no Long. */
export function uint64FromWire(value: { readonly low: number; readonly high: number } | number): bigint {
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

/** WireLeaseRef is a LeaseRef message as the SDK writes it in KeepAlive requests. */
export interface WireLeaseRef {
  readonly scope: string;
  readonly fenceToken: WireUint64;
  readonly releaseOnResetMs: number;
}

/** big reads a uint64 field (a decimal string; absent reads as 0). */
export function big(value: string | number | null | undefined): bigint {
  if (value === null || value === undefined || value === '') return 0n;
  return BigInt(value);
}

/**
 * expiresAtOf is the one way the SDK (and the CLI) turns a lease deadline in milliseconds since
 * the epoch into `expiresAt`: an RFC 3339 UTC time with milliseconds (`2026-12-04T11:30:00.123Z`).
 * It reads only the replicated deadline, never this process's clock, so every node's answer and
 * every watch event give the same string for the same lease. Every lease has a deadline (the
 * cluster requires a TTL); a value that is not a non-negative safe integer can only come from a
 * broken server and is refused with INTERNAL rather than shown as an invented time.
 */
export function expiresAtOf(expiresAtMs: number): string {
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) {
    throw new OmniRelayError(
      'INTERNAL',
      `lease deadline ${expiresAtMs} ms is not a time; every lease has one`,
    );
  }
  return new Date(expiresAtMs).toISOString();
}

/**
 * HolderRef names a former holder: `leaderId` and `fenceToken` are the DISC-002 names;
 * `candidateId` and `fence` are the same values under the names of earlier releases.
 */
export interface HolderRef {
  readonly leaderId: string;
  readonly fenceToken: bigint;
  /** candidateId is leaderId (the name before DISC-002, kept for existing callers). */
  readonly candidateId: string;
  /** fence is fenceToken (the name before DISC-002, kept for existing callers). */
  readonly fence: bigint;
}

/** holderRef converts a HolderRef message. */
export function holderRef(w: WireHolderRef): HolderRef {
  const fenceToken = big(w.fenceToken);
  return { leaderId: w.candidateId, fenceToken, candidateId: w.candidateId, fence: fenceToken };
}

/**
 * LeaseView is a lease as the SDK shows it (another candidate's, or a past one): the lease token
 * with the DISC-002 names `leaderId, scope, term, fenceToken, expiresAt`, the millisecond fields,
 * and the names of earlier releases (`candidateId`, `fence`, `deadlineMs`) with the same values.
 */
export interface LeaseView {
  /** leaderId is the candidate holding the scope (DISC-002). */
  readonly leaderId: string;
  readonly scope: string;
  /** fenceToken is the lease's fence token (DISC-002), strictly increasing per scope. */
  readonly fenceToken: bigint;
  /** expiresAt is expiresAtMs as an RFC 3339 UTC time (expiresAtOf). */
  readonly expiresAt: string;
  /** expiresAtMs is the cluster's deadline in lease time (the leader's stamps), ms since the epoch. */
  readonly expiresAtMs: number;
  /** candidateId is leaderId (kept for existing callers). */
  readonly candidateId: string;
  /** sessionId is the client session holding the lease ('' for none); see OmniRelayClient.sessionId. */
  readonly sessionId: string;
  readonly metadata: string;
  /** term counts the scope's holder changes up to and including this grant. */
  readonly term: bigint;
  /** fence is fenceToken (kept for existing callers). */
  readonly fence: bigint;
  readonly ttlMs: number;
  /** deadlineMs is expiresAtMs (kept for existing callers): the leader's deadline, its clock, not yours. */
  readonly deadlineMs: number;
  readonly grantedAtMs: number;
  readonly lastRenewedAtMs: number;
  readonly revision: bigint;
}

/** leaseView converts a Lease message. */
export function leaseView(w: WireLease): LeaseView {
  const fenceToken = big(w.fenceToken);
  const expiresAtMs = Number(w.deadlineMs);
  return {
    leaderId: w.candidateId,
    scope: w.scope,
    fenceToken,
    expiresAt: expiresAtOf(expiresAtMs),
    expiresAtMs,
    candidateId: w.candidateId,
    sessionId: w.sessionId,
    metadata: w.metadata,
    term: big(w.scopeTerm),
    fence: fenceToken,
    ttlMs: w.leaseTtlMs,
    deadlineMs: expiresAtMs,
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
  readonly previous: HolderRef | null;
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
    previous: w.previousHolder === null ? null : holderRef(w.previousHolder),
    holder: optionalLeaseView(w.holder),
    correlationId: w.correlationId,
    raftTerm: big(w.raftTerm),
    proposerId: w.proposerId,
    stampMs: Number(w.stampMs),
    principal: w.principal ?? '',
  };
}
