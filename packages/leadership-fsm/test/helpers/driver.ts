import type { ApplyResult, Command, LeadershipEvent, LogEntry } from '@omnirelay/leadership-fsm';
import { LeadershipFsm, encodeCommand } from '@omnirelay/leadership-fsm';

/** RecordedEntry is one entry of a test log: a command's bytes, or null for a Raft no-op. */
export interface RecordedEntry {
  readonly index: number;
  readonly term: number;
  readonly stampMs: number;
  readonly proposerId: string;
  readonly command: Uint8Array | null;
}

/**
 * Driver feeds a LeadershipFsm the way the Raft runtime would: indexes from 1 upwards, a Raft
 * term and proposer that tests may change (a leader change), and a clock they move by hand. It
 * records the log and every event, so suites can replay the log and run the checkers.
 */
export class Driver {
  fsm = new LeadershipFsm();
  index = 0;
  term = 1;
  proposerId = 'n1';
  nowMs = 1_000;
  readonly log: RecordedEntry[] = [];
  readonly events: LeadershipEvent[] = [];

  /** next returns the position of the next entry, with an optional stamp override. */
  private next(stampMs?: number): { index: number; term: number; stampMs: number; proposerId: string } {
    this.index += 1;
    return {
      index: this.index,
      term: this.term,
      stampMs: stampMs ?? this.nowMs,
      proposerId: this.proposerId,
    };
  }

  /** applyBytes applies raw command bytes as the next entry. */
  applyBytes(command: Uint8Array, stampMs?: number): ApplyResult {
    const entry: LogEntry = { ...this.next(stampMs), command };
    this.log.push(entry);
    const result = this.fsm.apply(entry);
    this.events.push(...result.events);
    return result;
  }

  /** apply encodes `command` (with a correlation id `c<index>` when none is given) and applies it. */
  apply(
    command: DistributiveOmit<Command, 'correlationId'> & { correlationId?: string },
    stampMs?: number,
  ): ApplyResult {
    const withId = { correlationId: `c${this.index + 1}`, ...command } as Command;
    return this.applyBytes(encodeCommand(withId), stampMs);
  }

  /** acquireIn applies an acquire of `scope` by `candidateId` in client session `sessionId`. */
  acquireIn(scope: string, candidateId: string, sessionId: string, leaseTtlMs = 1_000): ApplyResult {
    return this.apply({ type: 'acquire', scope, candidateId, sessionId, metadata: '', leaseTtlMs });
  }

  /** noop applies a Raft no-op entry. */
  noop(stampMs?: number): void {
    const position = this.next(stampMs);
    this.log.push({ ...position, command: null });
    this.fsm.applyNoop(position);
  }
}

/** DistributiveOmit is Omit applied to each member of a union. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** replay applies a recorded log to `fsm` (a fresh one by default) and returns it with its events. */
export function replay(
  log: readonly RecordedEntry[],
  fsm: LeadershipFsm = new LeadershipFsm(),
): { fsm: LeadershipFsm; events: LeadershipEvent[]; results: ApplyResult[] } {
  const events: LeadershipEvent[] = [];
  const results: ApplyResult[] = [];
  for (const entry of log) {
    if (entry.command === null) {
      fsm.applyNoop(entry);
    } else {
      const result = fsm.apply({ ...entry, command: entry.command });
      results.push(result);
      events.push(...result.events);
    }
  }
  return { fsm, events, results };
}

/** noopTwin returns the snapshot a state machine restored from `before` has after a no-op at `entry`. */
export function noopTwinSnapshot(
  before: Uint8Array,
  entry: { index: number; term: number; stampMs: number },
): Uint8Array {
  const twin = LeadershipFsm.restore(before);
  twin.applyNoop({ ...entry, proposerId: 'twin' });
  return twin.snapshot();
}
