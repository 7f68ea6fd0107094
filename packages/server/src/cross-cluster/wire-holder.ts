import type { MirrorChange, MirroredHolder } from '@omnirelay/leadership-fsm';
import { REASON_TO_WIRE } from '../grpc/convert';

/**
 * WireHolder is the part of a public-API Lease (proto-loader's object form: 64-bit numbers as
 * decimal strings) the passive mirror keeps: in a Watch event's holder and in a ListLeaders page.
 */
export interface WireHolder {
  readonly candidateId: string;
  readonly metadata: string;
  readonly fenceToken: string;
  readonly scopeTerm: string;
  readonly leaseTtlMs: number;
  readonly grantedStampMs: string;
}

/** mirrorHolderOf converts a WireHolder into the holder a mirror command carries. */
export function mirrorHolderOf(wire: WireHolder): MirroredHolder {
  return {
    candidateId: wire.candidateId,
    metadata: wire.metadata,
    fenceToken: BigInt(wire.fenceToken),
    scopeTerm: Number(wire.scopeTerm),
    leaseTtlMs: wire.leaseTtlMs,
    grantedStampMs: Number(wire.grantedStampMs),
  };
}

/** WireEvent is the part of a Watch event (proto-loader's object form, 64-bit numbers as strings) the mirror needs. */
export interface WireEvent {
  readonly revision: string;
  readonly scope: string;
  readonly stampMs: string;
  readonly holder: WireHolder | null;
  /** reason is the HolderChangeReason enum's name (proto-loader gives enums as names). */
  readonly reason: string;
}

/**
 * mirrorChangeOf converts a Watch event of the active cluster into the change a mirror command
 * carries. Only a step-down keeps its reason: the mirror then keeps the holder it ended (every
 * lease a drain ends), who may trust its lease until its next renewal, and a promotion inherits it.
 */
export function mirrorChangeOf(event: WireEvent): MirrorChange {
  return {
    scope: event.scope,
    revision: Number(event.revision),
    holder: event.holder === null ? null : mirrorHolderOf(event.holder),
    ...(event.reason === REASON_TO_WIRE.steppedDown ? { reason: 'steppedDown' as const } : {}),
  };
}
