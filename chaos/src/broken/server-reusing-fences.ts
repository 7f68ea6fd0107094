/**
 * A deliberately broken server build for the chaos checkers' own tests (issue 17: "prove every
 * checker can fail"): the real server, except that a grant in a scope that had a holder before
 * reuses the scope's previous fence instead of its entry's index. Production code has no switch
 * for this; the patch lives only in this test file and changes the state machine's prototype in
 * this process before the server starts.
 *
 *   node -r @swc-node/register chaos/src/broken/server-reusing-fences.ts <server flags>
 *
 * takes the same arguments as packages/server/src/main.ts. Preloaded instead
 * (`node -r @swc-node/register -r chaos/src/broken/server-reusing-fences.ts <main.ts> ...`, as
 * LocalCluster's nodeArgs do) it only patches, and the entry runs as usual.
 *
 * Everything else still works: the reused fence is the lease's fence everywhere (answers,
 * events, renewals, expiry), so clients hold, renew and resign as usual; only the fences repeat.
 */
import { LeadershipFsm } from '@omnirelay/leadership-fsm';
import type { LeadershipEvent } from '@omnirelay/leadership-fsm';
import { startServerEntry } from './server-entry';

/** The parts of the state machine's private FsmState and ScopeRecord this patch touches. */
interface PatchedRecord {
  readonly name: string;
  lastFenceToken: bigint;
}
interface PatchedLease {
  fenceToken: bigint;
}
interface PatchedContext {
  readonly events: LeadershipEvent[];
}
interface PatchedState {
  changeHolder: (
    this: PatchedState,
    record: PatchedRecord,
    next: PatchedLease | null,
    reason: string,
    ctx: PatchedContext,
  ) => void;
  trackDeadline(record: PatchedRecord, lease: PatchedLease): void;
}

/**
 * reuseFences patches FsmState.changeHolder: after a real change (which checks the fence
 * invariants), a new holder of a scope that had a fence before gets that fence again, in the
 * lease, the scope record, the deadline index and the event. It is idempotent.
 */
export function reuseFences(): void {
  const state = (new LeadershipFsm() as unknown as { state: PatchedState }).state;
  const proto = Object.getPrototypeOf(state) as PatchedState & { fencesReused?: true };
  if (proto.fencesReused === true) return;
  proto.fencesReused = true;
  const changeHolder = proto.changeHolder;
  proto.changeHolder = function (record, next, reason, ctx): void {
    const previousFence = record.lastFenceToken;
    changeHolder.call(this, record, next, reason, ctx);
    if (next === null || previousFence === 0n) return;
    next.fenceToken = previousFence;
    record.lastFenceToken = previousFence;
    this.trackDeadline(record, next);
    const last = ctx.events.length - 1;
    const event = ctx.events[last];
    if (event?.holder !== null && event?.holder !== undefined) {
      ctx.events[last] = {
        ...event,
        holder: { ...event.holder, fenceToken: previousFence, revision: Number(previousFence) },
      };
    }
  };
}

reuseFences();

// Run as the entry (not preloaded): start the real server, from source or from its build.
if (require.main === module) startServerEntry();
