import { closeSync, openSync, writeSync } from 'node:fs';
import type { OperationFunction } from '../history';

/** HistoryValue is the `value` of a client record: the call's arguments or its answer. */
export type HistoryValue = Readonly<Record<string, string | boolean>>;

/** Completion is how a recorded call ended (chaos/README.md, "Client history"). */
export type Completion = 'ok' | 'fail' | 'info';

/**
 * HistoryWriter appends a worker's client history (chaos/README.md, "Client history") to one
 * file, one record per line, each with a synchronous write: a `kill -9` of the worker loses
 * nothing written, and a call it was in the middle of stays open (which the checkers read as
 * info). Times are `now()` (default `process.hrtime.bigint()`; a worker on a faked monotonic
 * clock passes KernelClock's) taken as the record is written: an invoke before the call starts, a
 * completion after its answer arrived. A process runs one call at a time.
 */
export class HistoryWriter {
  private readonly fd: number;
  /** open maps each process with a call in progress to that call's function and scope. */
  private readonly open = new Map<string, { f: OperationFunction; scope: string }>();

  constructor(
    file: string,
    private readonly now: () => bigint = () => process.hrtime.bigint(),
  ) {
    this.fd = openSync(file, 'a');
  }

  /** invoke records that `process` starts call `f` on `scope` with `value`; it must have no call open. */
  invoke(process: string, f: OperationFunction, scope: string, value: HistoryValue): void {
    const pending = this.open.get(process);
    if (pending !== undefined) {
      throw new Error(
        `history: ${process} invokes ${f} ${scope} while its ${pending.f} ${pending.scope} is open`,
      );
    }
    this.open.set(process, { f, scope });
    this.append({ process, type: 'invoke', f, scope, value });
  }

  /** complete records how the open call of `process` ended, with its answer or error code. */
  complete(process: string, type: Completion, value: HistoryValue = {}): void {
    const pending = this.open.get(process);
    if (pending === undefined) throw new Error(`history: ${process} completes a call it never invoked`);
    this.open.delete(process);
    this.append({ process, type, f: pending.f, scope: pending.scope, value });
  }

  /** isOpen says whether `process` has a call in progress. */
  isOpen(process: string): boolean {
    return this.open.has(process);
  }

  /** close closes the file; calls still open stay open in it (info). */
  close(): void {
    closeSync(this.fd);
  }

  private append(record: Record<string, unknown>): void {
    writeSync(this.fd, `${JSON.stringify({ ...record, time: this.now().toString() })}\n`);
  }
}
