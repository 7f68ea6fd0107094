import { packValue, unpackValue } from './codec';
import type { LeaseView } from './lease';

/**
 * HolderChangeReason says why a scope's holder changed:
 * - `granted`: a vacant scope went to a candidate (acquire, or campaign into a vacant scope);
 * - `resigned`: the holder resigned with its fence;
 * - `expired`: an Expire entry found the holder's deadline passed;
 * - `steppedDown`: an operator removed the holder without naming a successor;
 * - `preempted`: an operator removed the holder in favour of a named successor.
 * After `resigned`, `expired` and `steppedDown` the queue's best waiter, if any, is the new
 * holder in the same event; otherwise the scope falls vacant.
 */
export type HolderChangeReason = 'granted' | 'resigned' | 'expired' | 'steppedDown' | 'preempted';

/** HolderRef names a former holder in an event: who it was and the fence it held. */
export interface HolderRef {
  readonly candidateId: string;
  readonly fenceToken: bigint;
}

/**
 * LeadershipEvent is the audit record of one holder change. Every replica produces the same
 * events from the same log, in the same order, and `encodeEvent` gives them the same bytes.
 * `revision` is the Raft index of the entry that made the change (a number, like every index in
 * this package; fence tokens alone are bigint). One entry may carry several events (an Expire
 * batch); they share its revision and come in the order of the batch.
 */
export interface LeadershipEvent {
  readonly revision: number;
  readonly scope: string;
  /** scopeTerm is the scope's count of holder changes, this one included. */
  readonly scopeTerm: number;
  readonly reason: HolderChangeReason;
  /** previousHolder is who held the scope before, or null when it was vacant. */
  readonly previousHolder: HolderRef | null;
  /** holder is the new lease (its fence is the new fence), or null when the scope fell vacant. */
  readonly holder: LeaseView | null;
  readonly correlationId: string;
  /** raftTerm is the Raft term of the entry. */
  readonly raftTerm: number;
  /** proposerId is the Raft node that proposed the entry. */
  readonly proposerId: string;
  /** stampMs is the state machine's time for the entry: its stamp, never below an earlier one. */
  readonly stampMs: number;
  /**
   * principal is the authenticated caller whose request made the change (`client/orders`,
   * `token/ops`), or '' for the server's own writes (expiry) and unauthenticated requests.
   */
  readonly principal: string;
}

function leaseFields(lease: LeaseView): unknown[] {
  return [
    lease.scope,
    lease.candidateId,
    lease.metadata,
    lease.scopeTerm,
    lease.fenceToken,
    lease.leaseTtlMs,
    lease.deadlineMs,
    lease.lastRenewalStampMs,
    lease.grantedStampMs,
    lease.revision,
    lease.sessionId,
  ];
}

/**
 * eventFields returns `event` as a positional array in a fixed field order (the audit wire
 * form), so that its encoding does not depend on how the object was built.
 */
export function eventFields(event: LeadershipEvent): unknown[] {
  return [
    event.revision,
    event.scope,
    event.scopeTerm,
    event.reason,
    event.previousHolder === null
      ? null
      : [event.previousHolder.candidateId, event.previousHolder.fenceToken],
    event.holder === null ? null : leaseFields(event.holder),
    event.correlationId,
    event.raftTerm,
    event.proposerId,
    event.stampMs,
    event.principal,
  ];
}

/** encodeEvent returns the canonical msgpack bytes of `event`: equal events, equal bytes. */
export function encodeEvent(event: LeadershipEvent): Uint8Array {
  return packValue(eventFields(event));
}

/** encodeEvents returns the canonical msgpack bytes of a list of events, in order. */
export function encodeEvents(events: readonly LeadershipEvent[]): Uint8Array {
  return packValue(events.map(eventFields));
}

/** leaseFromFields is leaseFields' inverse. */
function leaseFromFields(f: readonly unknown[]): LeaseView {
  return {
    scope: f[0] as string,
    candidateId: f[1] as string,
    metadata: f[2] as string,
    scopeTerm: f[3] as number,
    fenceToken: f[4] as bigint,
    leaseTtlMs: f[5] as number,
    deadlineMs: f[6] as number,
    lastRenewalStampMs: f[7] as number,
    grantedStampMs: f[8] as number,
    revision: f[9] as number,
    sessionId: f[10] as string,
  };
}

/** eventFromFields is eventFields' inverse. */
function eventFromFields(f: readonly unknown[]): LeadershipEvent {
  const previous = f[4] as readonly unknown[] | null;
  const holder = f[5] as readonly unknown[] | null;
  return {
    revision: f[0] as number,
    scope: f[1] as string,
    scopeTerm: f[2] as number,
    reason: f[3] as HolderChangeReason,
    previousHolder:
      previous === null ? null : { candidateId: previous[0] as string, fenceToken: previous[1] as bigint },
    holder: holder === null ? null : leaseFromFields(holder),
    correlationId: f[6] as string,
    raftTerm: f[7] as number,
    proposerId: f[8] as string,
    stampMs: f[9] as number,
    principal: f[10] as string,
  };
}

/**
 * decodeEvents is encodeEvents' inverse: the events those bytes were made from (fences stay
 * bigint, since they are packed as 64-bit integers). It trusts its input — bytes encodeEvents
 * made in this process — and throws on anything else that is not a list.
 */
export function decodeEvents(bytes: Uint8Array): LeadershipEvent[] {
  const value = unpackValue(bytes);
  if (!Array.isArray(value)) throw new TypeError('decodeEvents: the bytes are not a list of events');
  return value.map((fields) => eventFromFields(fields as readonly unknown[]));
}
