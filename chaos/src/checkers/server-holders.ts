import type { AuditEvent, HolderRef } from '../history';
import type { CheckResult } from '../verdict';
import { resultOf } from '../verdict';

/** Which reasons need a previous holder (true), none (false), or a new holder. */
const REASON_SHAPES: Readonly<
  Record<string, { readonly previous: boolean; readonly holder: boolean | null }>
> = {
  granted: { previous: false, holder: true },
  resigned: { previous: true, holder: null },
  expired: { previous: true, holder: null },
  steppedDown: { previous: true, holder: null },
  preempted: { previous: true, holder: true },
};

function describe(ref: HolderRef | null): string {
  return ref === null ? 'nobody' : `${ref.candidateId} (fence ${ref.fenceToken})`;
}

function same(a: HolderRef | null, b: HolderRef | null): boolean {
  return a === null || b === null
    ? a === b
    : a.candidateId === b.candidateId && a.fenceToken === b.fenceToken;
}

/**
 * checkServerHolders checks invariant 1 (at most one holder per scope at any committed state)
 * from the committed holder changes, read from the first revision: replaying them in order,
 * each event must start from the holder the history says is current. A grant while another
 * lease still runs shows up as an event whose previous holder is not the current one — two
 * holders overlapping. Each reason must also have its shape (`granted` starts from a vacant
 * scope, `resigned`/`expired`/`steppedDown` from a held one, `preempted` names both).
 */
export function checkServerHolders(events: readonly AuditEvent[]): CheckResult {
  const current = new Map<string, { holder: HolderRef; source: string }>();
  const violations: string[] = [];
  for (const event of events) {
    const shape = REASON_SHAPES[event.reason];
    if (shape === undefined) {
      violations.push(
        `${event.source}: revision ${event.revision} in ${event.scope} has an unknown reason ${event.reason}`,
      );
    } else if (
      shape.previous !== (event.previousHolder !== null) ||
      (shape.holder === true && event.holder === null)
    ) {
      violations.push(
        `${event.source}: revision ${event.revision} in ${event.scope} is ${event.reason} from ${describe(event.previousHolder)} to ${describe(event.holder)}, which that reason cannot be`,
      );
    }
    const was = current.get(event.scope);
    if (!same(was?.holder ?? null, event.previousHolder)) {
      violations.push(
        `${event.source}: revision ${event.revision} in ${event.scope} (${event.reason}) moves the scope from ${describe(event.previousHolder)} to ${describe(event.holder)}, but ${describe(was?.holder ?? null)} held it${was === undefined ? '' : ` since ${was.source}`}: two holders overlap`,
      );
    }
    if (event.holder === null) current.delete(event.scope);
    else current.set(event.scope, { holder: event.holder, source: event.source });
  }
  return resultOf('server-holders', violations);
}
