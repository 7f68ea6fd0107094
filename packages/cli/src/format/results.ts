import type { LeaseView, StepDownResult } from '@omnirelay/client-sdk';
import { holderRefJson, leaseJson } from './leaders';
import { jsonDocument } from './json';

/** stepDownText says who was removed from the scope and who holds it now. */
export function stepDownText(r: StepDownResult): string {
  const removed =
    r.previous === null
      ? 'no holder was removed'
      : `removed ${r.previous.candidateId} (fence ${r.previous.fence})`;
  const now =
    r.successor === null
      ? 'the scope is vacant'
      : `now held by ${r.successor.candidateId} (fence ${r.successor.fence})`;
  return `stepped down ${JSON.stringify(r.scope)}: ${removed}; ${now}\n`;
}

/** stepDownJson renders `{"scope", "previous": {leaderId, fenceToken} | null, "successor": lease | null, "raftTerm"}`. */
export function stepDownJson(r: StepDownResult): string {
  return jsonDocument({
    scope: r.scope,
    previous: r.previous === null ? null : holderRefJson(r.previous),
    successor: r.successor === null ? null : leaseJson(r.successor),
    raftTerm: r.raftTerm.toString(),
  });
}

/** FenceCheck is the answer of `fence validate`. */
export interface FenceCheck {
  readonly scope: string;
  readonly fence: bigint;
  readonly valid: boolean;
  readonly current: LeaseView | null;
}

/** fenceValidText is the line `fence validate` prints for a valid token. */
export function fenceValidText(c: FenceCheck): string {
  const holder = c.current === null ? '' : ` (held by ${c.current.candidateId})`;
  return `fence ${c.fence} is valid for ${JSON.stringify(c.scope)}${holder}\n`;
}

/** fenceStaleText says why a token is not valid: who holds the scope now, with which fence. */
export function fenceStaleText(c: FenceCheck): string {
  const current =
    c.current === null
      ? 'the scope has no holder'
      : `the holder is ${c.current.candidateId} with fence ${c.current.fence}`;
  return `fence ${c.fence} is stale for ${JSON.stringify(c.scope)}: ${current}`;
}

/** fenceJson renders `{"scope", "fenceToken", "valid", "current": lease | null}`. */
export function fenceJson(c: FenceCheck): string {
  return jsonDocument({
    scope: c.scope,
    fenceToken: c.fence.toString(),
    valid: c.valid,
    current: c.current === null ? null : leaseJson(c.current),
  });
}

/** transferText names the Raft leader after a transfer. */
export function transferText(r: { readonly leader: string; readonly term: bigint }): string {
  return `Raft leadership is on ${r.leader} (term ${r.term})\n`;
}

/** transferJson renders `{"leader", "term"}` (term as a decimal string). */
export function transferJson(r: { readonly leader: string; readonly term: bigint }): string {
  return jsonDocument({ leader: r.leader, term: r.term.toString() });
}
