import type { AuditEvent, HolderRef, StoreRecord } from '../../src/history';
import type { GrantRecord } from '../../src/grants';

/** write is one store log line for hand-made logs; its source is `store:<index>`. */
export function write(
  index: number,
  writer: string,
  fence: bigint,
  outcome: 'accepted' | 'rejected' = 'accepted',
  scope = 's',
): StoreRecord {
  return { scope, fence, writer, outcome, timeNs: BigInt(index), source: `store:${index}` };
}

/** grant is a GrantRecord of `fence` on scope `s` to `candidate`. */
export function grant(candidate: string, fence: bigint, scope = 's'): GrantRecord {
  return { scope, fence, candidate, source: `audit:${fence}` };
}

/** holder is a HolderRef. */
export function holder(candidateId: string, fenceToken: bigint): HolderRef {
  return { candidateId, fenceToken };
}

/** event is one audit event of scope `s` (unless given) at `revision`; its source is `audit:<revision>`. */
export function event(
  revision: number,
  reason: string,
  previousHolder: HolderRef | null,
  newHolder: HolderRef | null,
  scope = 's',
): AuditEvent {
  return {
    revision: BigInt(revision),
    scope,
    reason,
    holder: newHolder,
    previousHolder,
    source: `audit:${revision}`,
  };
}
