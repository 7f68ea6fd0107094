/**
 * A deliberately broken server build for the chaos checkers' own tests (issue 17: "prove every
 * checker can fail"): the real server, except that an acquire does not see another candidate's
 * holder, so a held scope is granted to a second candidate while the first one's lease still
 * runs — the split brain the server-holders and linearizability checkers exist to catch.
 * Production code has no switch for this; the patch lives only in this test file and changes
 * the state machine's prototypes in this process before the server starts.
 *
 *   node -r @swc-node/register chaos/src/broken/server-double-granting.ts <server flags>
 *
 * takes the same arguments as packages/server/src/main.ts. Preloaded instead
 * (`node -r @swc-node/register -r chaos/src/broken/server-double-granting.ts <main.ts> ...`) it
 * only patches, and the entry runs as usual.
 *
 * What the broken grant looks like: the event says `granted` from nobody while the first holder
 * still held the scope, and ValidateFence goes on answering "valid" for the first holder's fence
 * too — two holders confirmed at once, each told it leads (its renewals are refused, so its SDK
 * ends the lease within a renewal interval). Scopes restored from a snapshot are not patched
 * (the tests' runs are too short to take one).
 */
import type { ApplyResult, LogEntry } from '@omnirelay/leadership-fsm';
import { LeadershipFsm, decodeCommand } from '@omnirelay/leadership-fsm';
import { startServerEntry } from './server-entry';

/** The parts of the state machine's private FsmState and ScopeRecord this patch touches. */
interface PatchedHolder {
  readonly candidateId: string;
  readonly fenceToken: bigint;
}
interface PatchedRecord {
  readonly name: string;
  holder: PatchedHolder | null;
}
interface PatchedState {
  createScope: (this: PatchedState, name: string) => PatchedRecord;
}
interface PatchedFsm {
  apply: (this: LeadershipFsm, entry: LogEntry) => ApplyResult;
  validateFence: (this: LeadershipFsm, scope: string, fenceToken: bigint) => boolean;
  holdersHidden?: true;
}

/** hiding is the acquire being applied: its scope's holder is hidden from it unless it is its own. */
let hiding: { readonly scope: string; readonly candidateId: string } | undefined;

/** displaced maps a scope to the fence of the holder a broken grant replaced (still "valid"). */
const displaced = new Map<string, bigint>();

/**
 * hideHolder turns `record.holder` into an accessor that answers null to an acquire of another
 * candidate (see `hiding`), and the real holder to everything else.
 */
function hideHolder(record: PatchedRecord): void {
  let holder = record.holder;
  Object.defineProperty(record, 'holder', {
    enumerable: true,
    get: (): PatchedHolder | null =>
      hiding !== undefined &&
      hiding.scope === record.name &&
      holder !== null &&
      holder.candidateId !== hiding.candidateId
        ? null
        : holder,
    set: (next: PatchedHolder | null) => {
      if (hiding?.scope === record.name && holder !== null && holder.candidateId !== hiding.candidateId) {
        displaced.set(record.name, holder.fenceToken);
      }
      holder = next;
    },
  });
}

/**
 * grantHeldScopes patches FsmState.createScope (every new scope record hides its holder from
 * another candidate's acquire), LeadershipFsm.apply (marks which acquire is being applied) and
 * LeadershipFsm.validateFence (the displaced holder's fence stays valid). It is idempotent.
 */
export function grantHeldScopes(): void {
  const fsmProto = LeadershipFsm.prototype as unknown as PatchedFsm;
  if (fsmProto.holdersHidden === true) return;
  fsmProto.holdersHidden = true;
  const state = (new LeadershipFsm() as unknown as { state: PatchedState }).state;
  const stateProto = Object.getPrototypeOf(state) as PatchedState;
  const createScope = stateProto.createScope;
  stateProto.createScope = function (name) {
    const record = createScope.call(this, name);
    hideHolder(record);
    return record;
  };
  const validateFence = fsmProto.validateFence;
  fsmProto.validateFence = function (scope, fenceToken) {
    return validateFence.call(this, scope, fenceToken) || displaced.get(scope) === fenceToken;
  };
  const apply = fsmProto.apply;
  fsmProto.apply = function (entry) {
    let command;
    try {
      command = decodeCommand(entry.command);
    } catch {
      return apply.call(this, entry);
    }
    if (command.type !== 'acquire') return apply.call(this, entry);
    hiding = { scope: command.scope, candidateId: command.candidateId };
    try {
      return apply.call(this, entry);
    } finally {
      hiding = undefined;
    }
  };
}

grantHeldScopes();

// Run as the entry (not preloaded): start the real server, from source or from its build.
if (require.main === module) startServerEntry();
