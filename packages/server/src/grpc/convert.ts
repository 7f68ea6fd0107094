import type {
  AcquireOutcome,
  HolderChangeReason,
  HolderRef,
  LeadershipEvent,
  LeaseView,
  ListHoldersPage,
  RenewItem,
  ResignOutcome,
  StepDownOutcome,
} from '@omnirelay/leadership-fsm';
import type { AppliedTerm, CampaignElected } from '../leadership/leadership-service';
import type { RevisionEvents } from '../leadership/watch-hub';

/**
 * The wire shapes below are what the edge hands grpc-js to encode (proto-loader's object form of
 * proto/leadership.proto). Fence tokens leave as decimal strings (uint64 keeps all 64 bits), or
 * in KeepAlive answers as WireUint64; other 64-bit fields leave as numbers, which are safe
 * integers here.
 */

/**
 * WireUint64 is a uint64 as protobufjs encodes it: its low and high 32 bits. The encoder turns
 * every uint64 into a Long first; from a decimal string that is Long.fromString, about 0.9 µs,
 * which at thousands of KeepAlive answers per second was a visible share of the leader's CPU.
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

/** WireLease is a Lease message. */
export interface WireLease {
  readonly scope: string;
  readonly candidateId: string;
  readonly sessionId: string;
  readonly metadata: string;
  readonly scopeTerm: number;
  readonly fenceToken: string;
  readonly leaseTtlMs: number;
  readonly deadlineMs: number;
  readonly lastRenewalStampMs: number;
  readonly grantedStampMs: number;
  readonly revision: number;
}

/** WireHolderRef is a HolderRef message. */
export interface WireHolderRef {
  readonly candidateId: string;
  readonly fenceToken: string;
}

/** WireEvent is a LeadershipEvent message; absent holders are null (unset). */
export interface WireEvent {
  readonly revision: number;
  readonly scope: string;
  readonly scopeTerm: number;
  readonly reason: string;
  readonly previousHolder: WireHolderRef | null;
  readonly holder: WireLease | null;
  readonly correlationId: string;
  readonly raftTerm: number;
  readonly proposerId: string;
  readonly stampMs: number;
  readonly principal: string;
}

/**
 * WireKeepAliveResult is a KeepAliveResult message. Its fence tokens are decimal strings or, as
 * renewItemToWire builds them, WireUint64: both encode to the same bytes.
 */
export interface WireKeepAliveResult {
  readonly scope: string;
  readonly fenceToken: string | WireUint64;
  readonly renewed: boolean;
  readonly deadlineMs: number;
  readonly errorCode: string;
  readonly currentFenceToken?: string | WireUint64;
}

/** REASON_TO_WIRE names each HolderChangeReason as the HolderChangeReason enum spells it. */
export const REASON_TO_WIRE: Readonly<Record<HolderChangeReason, string>> = {
  granted: 'HOLDER_CHANGE_REASON_GRANTED',
  resigned: 'HOLDER_CHANGE_REASON_RESIGNED',
  expired: 'HOLDER_CHANGE_REASON_EXPIRED',
  steppedDown: 'HOLDER_CHANGE_REASON_STEPPED_DOWN',
  preempted: 'HOLDER_CHANGE_REASON_PREEMPTED',
};

/** leaseToWire converts a LeaseView. */
export function leaseToWire(lease: LeaseView): WireLease {
  return {
    scope: lease.scope,
    candidateId: lease.candidateId,
    sessionId: lease.sessionId,
    metadata: lease.metadata,
    scopeTerm: lease.scopeTerm,
    fenceToken: lease.fenceToken.toString(),
    leaseTtlMs: lease.leaseTtlMs,
    deadlineMs: lease.deadlineMs,
    lastRenewalStampMs: lease.lastRenewalStampMs,
    grantedStampMs: lease.grantedStampMs,
    revision: lease.revision,
  };
}

/** optionalLeaseToWire converts a lease that may be absent (null leaves the field unset). */
export function optionalLeaseToWire(lease: LeaseView | null): WireLease | null {
  return lease === null ? null : leaseToWire(lease);
}

/** holderRefToWire converts a HolderRef. */
export function holderRefToWire(ref: HolderRef): WireHolderRef {
  return { candidateId: ref.candidateId, fenceToken: ref.fenceToken.toString() };
}

/** eventToWire converts a LeadershipEvent. */
export function eventToWire(event: LeadershipEvent): WireEvent {
  return {
    revision: event.revision,
    scope: event.scope,
    scopeTerm: event.scopeTerm,
    reason: REASON_TO_WIRE[event.reason],
    previousHolder: event.previousHolder === null ? null : holderRefToWire(event.previousHolder),
    holder: optionalLeaseToWire(event.holder),
    correlationId: event.correlationId,
    raftTerm: event.raftTerm,
    proposerId: event.proposerId,
    stampMs: event.stampMs,
    principal: event.principal,
  };
}

/** revisionEventsToWire converts one revision's events into a WatchResponse. */
export function revisionEventsToWire(batch: RevisionEvents): {
  revision: number;
  events: WireEvent[];
} {
  return { revision: batch.revision, events: batch.events.map(eventToWire) };
}

/** acquireToWire converts an AcquireOutcome into an AcquireResponse. */
export function acquireToWire(o: AcquireOutcome & AppliedTerm): {
  granted: boolean;
  alreadyHolder: boolean;
  lease: WireLease;
  raftTerm: number;
} {
  return o.granted
    ? { granted: true, alreadyHolder: o.alreadyHolder, lease: leaseToWire(o.lease), raftTerm: o.raftTerm }
    : { granted: false, alreadyHolder: false, lease: leaseToWire(o.holder), raftTerm: o.raftTerm };
}

/** resignToWire converts a ResignOutcome into a ResignResponse. */
export function resignToWire(o: ResignOutcome & AppliedTerm): {
  scope: string;
  successor: WireLease | null;
  raftTerm: number;
} {
  return { scope: o.scope, successor: optionalLeaseToWire(o.successor), raftTerm: o.raftTerm };
}

/** stepDownToWire converts a StepDownOutcome into a StepDownResponse. */
export function stepDownToWire(o: StepDownOutcome & AppliedTerm): {
  scope: string;
  previousHolder: WireHolderRef;
  successor: WireLease | null;
  raftTerm: number;
} {
  return {
    scope: o.scope,
    previousHolder: holderRefToWire(o.previousHolder),
    successor: optionalLeaseToWire(o.successor),
    raftTerm: o.raftTerm,
  };
}

/** electedToWire converts a campaign's win into an Elected message. */
export function electedToWire(won: CampaignElected): {
  lease: WireLease;
  raftTerm: number;
  alreadyHolder: boolean;
} {
  return { lease: leaseToWire(won.lease), raftTerm: won.raftTerm, alreadyHolder: won.alreadyHolder };
}

/** listToWire converts a ListHoldersPage into a ListLeadersResponse (empty token on the last page). */
export function listToWire(page: ListHoldersPage): { leaders: WireLease[]; nextPageToken: string } {
  return { leaders: page.holders.map(leaseToWire), nextPageToken: page.nextPageToken ?? '' };
}

/**
 * renewItemToWire converts one lease's renewal answer into a KeepAliveResult, its fence tokens as
 * WireUint64 (no decimal string made and parsed back per lease).
 */
export function renewItemToWire(item: RenewItem): WireKeepAliveResult {
  // Built field by field, without spreads: a KeepAlive answer converts thousands of these per second.
  if (item.renewed) {
    return {
      scope: item.scope,
      fenceToken: uint64ToWire(item.fenceToken),
      renewed: true,
      deadlineMs: item.deadlineMs,
      errorCode: '',
    };
  }
  const refused = {
    scope: item.scope,
    fenceToken: uint64ToWire(item.fenceToken),
    renewed: false,
    deadlineMs: 0,
    errorCode: item.code,
  };
  return item.currentFenceToken === null
    ? refused
    : { ...refused, currentFenceToken: uint64ToWire(item.currentFenceToken) };
}
