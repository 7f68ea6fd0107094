/**
 * A deliberately broken server build for the chaos checkers' own tests (issue 17: "prove every
 * checker can fail"): the real server, except that its leader never finds a lease due, so it
 * never proposes an expiry. That breaks liveness, not safety: a holder that dies keeps its scope
 * forever (nobody else is ever granted it), while every fence, grant and holder change stays
 * correct — what only the SLO checker (re-grant after a holder dies) can flag. Production code
 * has no switch for this; the patch lives only in this test file and changes the state machine's
 * prototype in this process before the server starts.
 *
 *   node -r @swc-node/register chaos/src/broken/server-never-expiring.ts <server flags>
 *
 * takes the same arguments as packages/server/src/main.ts. Preloaded instead
 * (`node -r @swc-node/register -r chaos/src/broken/server-never-expiring.ts <main.ts> ...`) it
 * only patches, and the entry runs as usual.
 *
 * The leader's expiry scheduler arms its one timer at LeadershipFsm.nextDeadline and lists due
 * leases with LeadershipFsm.expiredLeases (packages/server/src/leadership/expiry-scheduler.ts):
 * the patch makes the first say "no lease" and the second "none due". Resign, step-down and
 * everything else work as usual.
 */
import { LeadershipFsm } from '@omnirelay/leadership-fsm';
import type { DueLease } from '@omnirelay/leadership-fsm';
import { startServerEntry } from './server-entry';

/** The parts of LeadershipFsm this patch replaces. */
interface PatchedFsm {
  nextDeadline: (this: LeadershipFsm) => DueLease | null;
  expiredLeases: (this: LeadershipFsm, nowMs: number, limit?: number) => DueLease[];
  expiryHidden?: true;
}

/**
 * neverExpire patches LeadershipFsm.nextDeadline (no lease to time) and
 * LeadershipFsm.expiredLeases (none due), so no leader ever proposes an Expire. It is idempotent.
 */
export function neverExpire(): void {
  const proto = LeadershipFsm.prototype as unknown as PatchedFsm;
  if (proto.expiryHidden === true) return;
  proto.expiryHidden = true;
  proto.nextDeadline = () => null;
  proto.expiredLeases = () => [];
}

neverExpire();

// Run as the entry (not preloaded): start the real server, from source or from its build.
if (require.main === module) startServerEntry();
