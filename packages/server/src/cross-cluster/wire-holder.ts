import type { MirroredHolder } from '@omnirelay/leadership-fsm';

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
