import { assert } from './assert';
import { applyMirror, applySetCluster } from './cluster-apply';
import { applyFailoverStep } from './cluster-history';
import type { ClusterView, MirrorPage, MirrorRequest } from './cluster-view';
import { clusterView, mirrorPage } from './cluster-view';
import { decodeCommand } from './codec';
import type { Command } from './commands';
import type { DueLease } from './deadline-index';
import { LeadershipError, isLeadershipError } from './errors';
import type { LeadershipEvent } from './events';
import { applyAcquire, applyCampaign, applyWithdraw } from './grant';
import type { LeaseView } from './lease';
import { leaseView } from './lease';
import { DUE_LEASES_MAX, PRINCIPAL_BYTES_MAX, PROPOSER_ID_BYTES_MAX, STAMP_MS_MAX } from './limits';
import type { ListHoldersPage, ListHoldersRequest, ScopeView } from './queries';
import { listHolders, scopeView } from './queries';
import { applyExpire, applyResign, applyStepDown } from './release';
import { applyGrace, applyRenew } from './renewal';
import type { ApplyResult, CommandOutcome } from './results';
import { encodeSnapshot } from './snapshot';
import { SnapshotCapture } from './snapshot-capture';
import { SnapshotRestore, decodeSnapshot } from './snapshot-restore';
import { validateScopeName } from './scope-name';
import type { EntryContext } from './state';
import { FsmState } from './state';

/**
 * LogEntry is one committed Raft entry as the runtime hands it to the state machine: its index
 * and term (safe integers), the leader's stamp in milliseconds, the node that proposed it, and
 * the command bytes (`encodeCommand`).
 */
export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly stampMs: number;
  readonly proposerId: string;
  /**
   * principal is the authenticated caller whose request the entry carries ('' when none: the
   * server's own writes, or auth off and no client certificate).
   */
  readonly principal?: string;
  readonly command: Uint8Array;
}

/**
 * NoopEntry is a committed Raft entry that carries no leadership command (the leader's no-op,
 * a membership change): it only moves the applied index and the clock.
 */
export type NoopEntry = Omit<LogEntry, 'command'>;

/** FsmStats counts what the state machine holds and says where it is in the log. */
export interface FsmStats {
  readonly scopeCount: number;
  readonly leaseCount: number;
  readonly waitingCount: number;
  readonly lastAppliedIndex: number;
  readonly lastAppliedTerm: number;
  /** clockMs is the state machine's time: the highest entry stamp applied so far. */
  readonly clockMs: number;
}

function dispatch(state: FsmState, command: Command, ctx: EntryContext): CommandOutcome {
  switch (command.type) {
    case 'acquire':
      return applyAcquire(state, command, ctx);
    case 'campaign':
      return applyCampaign(state, command, ctx);
    case 'withdraw':
      return applyWithdraw(state, command);
    case 'resign':
      return applyResign(state, command, ctx);
    case 'renew':
      return applyRenew(state, command, ctx);
    case 'expire':
      return applyExpire(state, command, ctx);
    case 'stepDown':
      return applyStepDown(state, command, ctx);
    case 'grace':
      return applyGrace(state, command, ctx);
    case 'setCluster':
      return applySetCluster(state, command, ctx);
    case 'mirror':
      return applyMirror(state, command);
    case 'failoverStep':
      return applyFailoverStep(state, command, ctx);
  }
}

/**
 * FsmRestore is a LeadershipFsm being restored from snapshot bytes a slice of scopes at a time
 * (`LeadershipFsm.beginRestore`): nothing of it is usable until the last slice returns it whole.
 */
export interface FsmRestore {
  /** index is the applied index of the snapshot being restored. */
  readonly index: number;
  /**
   * restoreSlice decodes up to `scopesMax` more scopes (SNAPSHOT_SLICE_SCOPES by default). It
   * returns undefined while scopes remain, and the restored state machine on the call that
   * decodes the last one (the same one on every call after). It throws as `restore` does.
   */
  restoreSlice(scopesMax?: number): LeadershipFsm | undefined;
}

/**
 * LeadershipFsm is the deterministic state machine every Raft replica applies: it decides who
 * holds each scope and issues fence tokens. It has no clock and no I/O: its time is the stamp of
 * the entry it applies, so the same log gives byte-identical state, results and events on every
 * replica, after a restart and after a snapshot restore.
 *
 * Time: a stamp below an earlier one is clamped up to it (`clockMs` never goes back), so a
 * leader whose clock stepped back cannot shorten or revive a lease; every replica clamps alike.
 */
export class LeadershipFsm {
  private state: FsmState;

  /** constructor makes an empty state machine (nothing applied, clock at 0). */
  constructor() {
    this.state = new FsmState();
  }

  /** restore makes a state machine from `snapshot()` bytes; it throws INVALID_SNAPSHOT on bad bytes. */
  static restore(bytes: Uint8Array): LeadershipFsm {
    const fsm = new LeadershipFsm();
    fsm.state = decodeSnapshot(bytes);
    return fsm;
  }

  /**
   * beginRestore starts restoring a state machine from `snapshot()` bytes a slice at a time, so
   * a runtime can yield between slices: the result equals `restore(bytes)`. It reads the header
   * at once and throws INVALID_SNAPSHOT for a bad one; later slices throw for what they read.
   */
  static beginRestore(bytes: Uint8Array): FsmRestore {
    const restore = new SnapshotRestore(bytes);
    let restored: LeadershipFsm | undefined;
    return {
      index: restore.index,
      restoreSlice: (scopesMax) => {
        if (restored !== undefined) return restored;
        const state = restore.restoreSlice(scopesMax);
        if (state === undefined) return undefined;
        restored = new LeadershipFsm();
        restored.state = state;
        return restored;
      },
    };
  }

  /** lastAppliedIndex is the index of the last entry applied (0 before any). */
  get lastAppliedIndex(): number {
    return this.state.lastAppliedIndex;
  }

  /** advance moves to `entry`'s position, asserting that the runtime hands entries in log order. */
  private advance(entry: NoopEntry): number {
    const state = this.state;
    assert(
      Number.isSafeInteger(entry.index) && entry.index > state.lastAppliedIndex,
      () => `apply index(${entry.index}) not above last applied(${state.lastAppliedIndex})`,
    );
    assert(
      Number.isSafeInteger(entry.term) && entry.term >= state.lastAppliedTerm,
      () =>
        `apply term(${entry.term}) below last applied term(${state.lastAppliedTerm}) at index ${entry.index}`,
    );
    assert(
      Number.isSafeInteger(entry.stampMs) && entry.stampMs >= 0 && entry.stampMs <= STAMP_MS_MAX,
      () => `entry ${entry.index} stamp(${entry.stampMs}) outside 0..${STAMP_MS_MAX}`,
    );
    assert(
      typeof entry.proposerId === 'string' && entry.proposerId.length <= PROPOSER_ID_BYTES_MAX,
      () => `entry ${entry.index} proposer id is not a string of at most ${PROPOSER_ID_BYTES_MAX}`,
    );
    state.lastAppliedIndex = entry.index;
    state.lastAppliedTerm = entry.term;
    state.clockMs = Math.max(state.clockMs, entry.stampMs);
    return state.clockMs;
  }

  /**
   * apply applies one committed entry and returns its result and events. Bad command bytes or a
   * refused command give `{ ok: false, error }` with no change beyond the applied index and the
   * clock (exactly as `applyNoop`); apply never throws for bad input. It throws InvariantViolation
   * only when the runtime breaks its contract (an index at or below the last applied one) or an
   * internal invariant breaks.
   */
  apply(entry: LogEntry): ApplyResult {
    const stampMs = this.advance(entry);
    let command: Command;
    try {
      command = decodeCommand(entry.command);
    } catch (e: unknown) {
      if (isLeadershipError(e)) {
        return { ok: false, index: entry.index, error: e.toCommandError(), events: [] };
      }
      throw e;
    }
    const events: LeadershipEvent[] = [];
    const ctx: EntryContext = {
      index: entry.index,
      raftTerm: entry.term,
      stampMs,
      proposerId: entry.proposerId,
      principal: principalOf(entry),
      correlationId: command.correlationId,
      events,
    };
    try {
      const outcome = dispatch(this.state, command, ctx);
      return { ok: true, index: entry.index, correlationId: command.correlationId, outcome, events };
    } catch (e: unknown) {
      if (isLeadershipError(e)) {
        assert(
          events.length === 0,
          () => `command ${command.type} at ${entry.index} refused after a holder change`,
        );
        return { ok: false, index: entry.index, error: e.toCommandError(), events: [] };
      }
      throw e;
    }
  }

  /** applyNoop applies an entry that carries no leadership command: only the applied index and clock move. */
  applyNoop(entry: NoopEntry): void {
    this.advance(entry);
  }

  /** getHolder returns the lease of `scope`'s holder, or null when vacant; INVALID_SCOPE for a bad name. */
  getHolder(scope: string): LeaseView | null {
    validateScopeName(scope);
    const record = this.state.scopes.get(scope);
    return record?.holder ? leaseView(scope, record.scopeTerm, record.holder) : null;
  }

  /**
   * heldLease returns the lease of `scope`'s holder when its fence is `fenceToken`, else null,
   * without validating the name: it is for scopes this FSM listed itself (`expiredLeases`,
   * `nextDeadline`, `leases`), whose names were validated when they were stored, on paths that
   * look up many of them. A name never stored (valid or not) answers null; callers with a name
   * from outside use `getHolder`.
   */
  heldLease(scope: string, fenceToken: bigint): LeaseView | null {
    const record = this.state.scopes.get(scope);
    if (!record?.holder || record.holder.fenceToken !== fenceToken) return null;
    return leaseView(scope, record.scopeTerm, record.holder);
  }

  /** getScope returns `scope`'s holder, term, revision and queue, or null if never used; INVALID_SCOPE for a bad name. */
  getScope(scope: string): ScopeView | null {
    return scopeView(this.state, scope);
  }

  /** listHolders returns one page of holders in scope-name order (see ListHoldersRequest). */
  listHolders(request: ListHoldersRequest = {}): ListHoldersPage {
    return listHolders(this.state, request);
  }

  /**
   * validateFence tells whether `fenceToken` is the current holder's fence of `scope`. Any other
   * token, older, unknown or from the future, is stale: false. A lease past its deadline that no
   * Expire entry has ended yet is still the holder (safety rests on fences, not clocks).
   * INVALID_SCOPE for a bad name.
   */
  validateFence(scope: string, fenceToken: bigint): boolean {
    validateScopeName(scope);
    const holder = this.state.scopes.get(scope)?.holder;
    return holder !== undefined && holder !== null && holder.fenceToken === fenceToken;
  }

  /**
   * cluster returns this cluster's descriptor (null: never set, which is active in epoch 0), its
   * effective state and epoch, the peers' descriptors and the mirror's version vector.
   */
  cluster(): ClusterView {
    return clusterView(this.state.cluster, this.state.lastEventRevision);
  }

  /**
   * mirror returns one page of the read-only mirror of the active cluster (scopes under
   * `prefix`, in name order), with the version vector it is current to. INVALID_ARGUMENT for a
   * bad limit.
   */
  mirror(request: MirrorRequest = {}): MirrorPage {
    return mirrorPage(this.state.cluster, request);
  }

  /** stats counts scopes, live leases and waiting candidates, and gives the log position and clock. */
  stats(): FsmStats {
    const s = this.state;
    return {
      scopeCount: s.scopes.size,
      leaseCount: s.leaseCount,
      waitingCount: s.waitingCount,
      lastAppliedIndex: s.lastAppliedIndex,
      lastAppliedTerm: s.lastAppliedTerm,
      clockMs: s.clockMs,
    };
  }

  /**
   * nextDeadline returns the live lease with the earliest deadline (ties by scope name), or null
   * when no scope is held: the leader sets one timer for it and proposes Expire when it fires.
   * When the deadline index has more to catch up than DEADLINE_INDEX_MOVES_MAX (after a grace
   * that extended most leases) it returns a lower bound instead: an entry whose deadline is never
   * after the earliest live one, possibly an older lease of its scope. A timer armed at it fires
   * early, finds nothing due yet, and the next call goes on catching up.
   */
  nextDeadline(): DueLease | null {
    return this.state.deadlines.peek(this.state.isLive) ?? null;
  }

  /**
   * deadlineLowerBoundMs is a time never after the earliest live lease deadline, in O(1), or null
   * when no lease was tracked since the index was last compacted: what the leader arms its expiry
   * timer at. It may be earlier (a renewed lease's previous deadline, an ended lease's); the
   * timer then fires early and `expiredLeases` finds nothing due yet while it catches the index
   * up. Asking `nextDeadline` after every apply instead re-keyed each renewed lease within a
   * second of its renewal (14% of a leader's CPU at 100,000 leases); this way a lease is re-keyed
   * once its previous deadline passes, once for the two or three renewals made since.
   */
  deadlineLowerBoundMs(): number | null {
    return this.state.deadlines.earliestKeyMs() ?? null;
  }

  /**
   * expiredLeases returns up to `limit` (1..DUE_LEASES_MAX) live leases whose deadline is at or
   * before `nowMs`, earliest first: what the leader lists in one Expire batch. A call catches the
   * deadline index up by at most DEADLINE_INDEX_MOVES_MAX moves; when that runs out it returns
   * the earliest due leases found so far (possibly none while some are due) and the next call goes
   * on. INVALID_ARGUMENT for a limit out of range.
   */
  expiredLeases(nowMs: number, limit: number = DUE_LEASES_MAX): DueLease[] {
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > DUE_LEASES_MAX) {
      throw new LeadershipError('INVALID_ARGUMENT', `limit is ${limit}; allowed: 1..${DUE_LEASES_MAX}`, {
        field: 'limit',
        limit: DUE_LEASES_MAX,
      });
    }
    return this.state.deadlines.due(nowMs, limit, this.state.isLive);
  }

  /** leases yields every live lease's (scope, fence, deadline) in scope-name order. */
  *leases(): IterableIterator<DueLease> {
    for (const name of this.state.sortedScopeNames()) {
      const holder = this.state.scopes.get(name)?.holder;
      if (holder) {
        yield { scope: name, fenceToken: holder.fenceToken, deadlineMs: holder.deadlineMs };
      }
    }
  }

  /**
   * snapshot returns the whole state as versioned msgpack bytes (SNAPSHOT_FORMAT), in sorted
   * order: equal states give equal bytes, and `LeadershipFsm.restore` continues exactly here.
   */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.state);
  }

  /**
   * captureSnapshot takes the state as it is now, in O(1), and returns a capture that encodes it
   * a slice at a time while later entries apply: its bytes equal what `snapshot()` returns now.
   * A runtime encodes it between its other work instead of stopping for the whole state.
   */
  captureSnapshot(): SnapshotCapture {
    return new SnapshotCapture(this.state);
  }
}

/** principalOf is an entry's principal, checked like its proposer ('' when absent). */
function principalOf(entry: LogEntry): string {
  const principal = entry.principal ?? '';
  assert(
    typeof principal === 'string' && principal.length <= PRINCIPAL_BYTES_MAX,
    () => `entry ${entry.index} principal is not a string of at most ${PRINCIPAL_BYTES_MAX}`,
  );
  return principal;
}
