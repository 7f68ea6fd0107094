import type { ApplyResult, LeadershipEvent } from '@omnirelay/leadership-fsm';
import { LeadershipFsm } from '@omnirelay/leadership-fsm';
import type { AppliedCommand, SnapshotCapture, SnapshotInstall, StateMachine } from '@omnirelay/raft';
import { decodeEnvelope } from './envelope';
import { StampClock } from './stamp-clock';

/** AppliedListener hears every applied entry's result, in log order, on every replica. */
export type AppliedListener = (
  result: ApplyResult,
  entry: { index: number; term: number; stampMs: number; transport: string },
) => void;

/** RestoredListener hears that the state was replaced by a snapshot at `index` (history before it is gone). */
export type RestoredListener = (index: number) => void;

/**
 * LeadershipStateMachine is the StateMachine the server replicates: it unwraps each entry's
 * envelope and applies the command to the LeadershipFsm, then tells its listeners (watchers,
 * metrics, logs, the leader's schedulers). A malformed envelope is a typed refusal, like any bad
 * command: apply never throws for bad input.
 */
export class LeadershipStateMachine implements StateMachine<ApplyResult> {
  private fsmNow = new LeadershipFsm();
  /** clock is lease time on this node: every applied stamp feeds it; the leader stamps from it. */
  readonly clock: StampClock;

  /** constructor takes the bound on lease time's drift from the monotonic clock (see StampClock). */
  constructor(clockDriftPpmMax?: number) {
    this.clock = new StampClock(clockDriftPpmMax);
  }
  private readonly appliedListeners: AppliedListener[] = [];
  private readonly restoredListeners: RestoredListener[] = [];

  /** fsm is the current state (replaced on restore; do not keep a reference). */
  get fsm(): LeadershipFsm {
    return this.fsmNow;
  }

  /** onApplied registers a listener for applied entries. */
  onApplied(listener: AppliedListener): void {
    this.appliedListeners.push(listener);
  }

  /** onRestored registers a listener for snapshot restores. */
  onRestored(listener: RestoredListener): void {
    this.restoredListeners.push(listener);
  }

  apply(entry: AppliedCommand): ApplyResult {
    const envelope = decodeEnvelope(entry.data);
    // A malformed envelope (only a bug could write one) is applied as an empty command, which the
    // FSM refuses as MALFORMED_COMMAND like any bad command: every replica does the same.
    const stampMs = typeof envelope === 'string' ? this.fsmNow.stats().clockMs : envelope.stampMs;
    const result = this.fsmNow.apply({
      index: entry.index,
      term: entry.term,
      stampMs,
      proposerId: typeof envelope === 'string' ? '' : envelope.proposerId,
      principal: typeof envelope === 'string' ? '' : envelope.principal,
      command: typeof envelope === 'string' ? new Uint8Array(0) : envelope.command,
    });
    const transport = typeof envelope === 'string' ? '' : envelope.transport;
    this.clock.observe(stampMs);
    for (const l of this.appliedListeners)
      l(result, { index: entry.index, term: entry.term, stampMs, transport });
    return result;
  }

  /**
   * captureSnapshot captures the state machine as it is now and encodes it SNAPSHOT_SLICE_SCOPES
   * scopes per slice; the capture stays that state while later entries apply or a restore
   * replaces the state machine.
   */
  captureSnapshot(): SnapshotCapture {
    const capture = this.fsmNow.captureSnapshot();
    return { encodeSlice: () => capture.encodeSlice(), release: () => capture.release() };
  }

  restore(data: Uint8Array): void {
    this.install(LeadershipFsm.restore(data));
  }

  /**
   * beginRestore restores a snapshot SNAPSHOT_SLICE_SCOPES scopes per slice: `fsm` stays the
   * previous state machine, whole, until the last slice swaps in the restored one and tells the
   * listeners.
   */
  beginRestore(data: Uint8Array): SnapshotInstall {
    const restore = LeadershipFsm.beginRestore(data);
    return {
      installSlice: () => {
        const fsm = restore.restoreSlice();
        if (fsm === undefined) return false;
        if (fsm !== this.fsmNow) this.install(fsm);
        return true;
      },
    };
  }

  /** install makes `fsm` the current state and tells the restore listeners. */
  private install(fsm: LeadershipFsm): void {
    this.fsmNow = fsm;
    const index = fsm.stats().lastAppliedIndex;
    for (const l of this.restoredListeners) l(index);
  }
}

/** eventsOf returns the audit events of an applied result (none for a refusal). */
export function eventsOf(result: ApplyResult): readonly LeadershipEvent[] {
  return result.ok ? result.events : [];
}
