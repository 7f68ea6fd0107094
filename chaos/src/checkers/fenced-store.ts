import { grantKey } from '../grants';
import type { GrantRecord } from '../grants';
import type { StoreRecord } from '../history';
import type { CheckResult } from '../verdict';
import { resultOf } from '../verdict';

/**
 * checkFencedStore checks one fenced store's log (in append order) against the grants:
 * 1. per scope, accepted fences never decrease (a stale writer got through);
 * 2. all accepted writes under one fence come from one writer (two holders shared a fence);
 * 3. every accepted fence was granted to the writer that used it (`grants` from the audit
 *    events and the clients' acknowledged grants);
 * and, as a store bug rather than a safety one, that a rejected write's fence was below the
 * highest accepted (a store rejects only stale fences).
 */
export function checkFencedStore(log: readonly StoreRecord[], grants: readonly GrantRecord[]): CheckResult {
  const grantedTo = new Map<string, Set<string>>();
  for (const grant of grants) {
    const key = grantKey(grant.scope, grant.fence);
    const candidates = grantedTo.get(key) ?? new Set<string>();
    candidates.add(grant.candidate);
    grantedTo.set(key, candidates);
  }
  const highest = new Map<string, StoreRecord>();
  const writerOf = new Map<string, StoreRecord>();
  const violations: string[] = [];
  // A fence shared or never granted is reported at its first write only, not at every one.
  const reported = new Set<string>();
  const once = (key: string): boolean => {
    if (reported.has(key)) return false;
    reported.add(key);
    return true;
  };
  for (const write of log) {
    const top = highest.get(write.scope);
    if (write.outcome === 'rejected') {
      if (top === undefined || write.fence >= top.fence) {
        violations.push(
          `${write.source}: scope ${write.scope} rejected fence ${write.fence} from ${write.writer}, but no higher fence was accepted (highest ${top === undefined ? 'none' : `${top.fence} at ${top.source}`})`,
        );
      }
      continue;
    }
    if (top !== undefined && write.fence < top.fence) {
      violations.push(
        `${write.source}: scope ${write.scope} accepted fence ${write.fence} from ${write.writer} after fence ${top.fence} from ${top.writer} (${top.source}): accepted fences went down, a stale writer got through`,
      );
    }
    if (top === undefined || write.fence > top.fence) highest.set(write.scope, write);
    const key = grantKey(write.scope, write.fence);
    const first = writerOf.get(key);
    if (first === undefined) {
      writerOf.set(key, write);
    } else if (first.writer !== write.writer && once(`shared\u0000${key}\u0000${write.writer}`)) {
      violations.push(
        `${write.source}: scope ${write.scope} accepted fence ${write.fence} from ${write.writer}, but ${first.writer} wrote under it too (${first.source}): two holders shared one fence`,
      );
    }
    const candidates = grantedTo.get(key);
    if (!once(`granted\u0000${key}\u0000${write.writer}`)) continue;
    if (candidates === undefined) {
      violations.push(
        `${write.source}: scope ${write.scope} accepted fence ${write.fence} from ${write.writer}, a fence never granted`,
      );
    } else if (!candidates.has(write.writer)) {
      violations.push(
        `${write.source}: scope ${write.scope} accepted fence ${write.fence} from ${write.writer}, but that fence was granted to ${[...candidates].sort().join(', ')}`,
      );
    }
  }
  return resultOf('fenced-store', violations);
}
