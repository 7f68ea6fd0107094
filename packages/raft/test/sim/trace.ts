import type { Message } from '../../src/core/index';
import { describeMessage } from './describe-message';

/** TIME_UNITS_PER_TICK is how many simulated time units one node tick lasts; delays are in units. */
export const TIME_UNITS_PER_TICK = 10;

interface TraceRecord {
  readonly time: number;
  readonly node: string;
  /** what is a line of text, or a delivered message, formatted only when the trace is printed. */
  readonly what: string | Message;
}

function formatRecord(r: TraceRecord): string {
  const ticks = (r.time / TIME_UNITS_PER_TICK).toFixed(1).padStart(7);
  const what = typeof r.what === 'string' ? r.what : describeMessage(r.what);
  return `${ticks} ${r.node.padEnd(4)} ${what}`;
}

/**
 * Trace keeps the last `keepLines` events of a simulation in a ring (formatted only when a
 * failure prints them, so tracing costs little when nothing fails), and every event when
 * `captureAll` is set, for the reproducibility test.
 */
export class Trace {
  private readonly ring: (TraceRecord | undefined)[];
  private next = 0;
  private count = 0;
  private readonly captured: string[] | undefined;

  /** constructor sizes the ring; `captureAll` also keeps every formatted line. */
  constructor(
    private readonly keepLines: number,
    captureAll: boolean,
  ) {
    this.ring = new Array<TraceRecord | undefined>(keepLines).fill(undefined);
    this.captured = captureAll ? [] : undefined;
  }

  /** add records that `node` did `what` at simulated time `time`. */
  add(time: number, node: string, what: string | Message): void {
    const record: TraceRecord = { time, node, what };
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.keepLines;
    this.count++;
    this.captured?.push(formatRecord(record));
  }

  /** total is the number of events recorded since the start. */
  get total(): number {
    return this.count;
  }

  /** lastLines returns the retained events, oldest first, formatted. */
  lastLines(): string[] {
    const out: string[] = [];
    for (let k = 0; k < this.keepLines; k++) {
      const r = this.ring[(this.next + k) % this.keepLines];
      if (r !== undefined) out.push(formatRecord(r));
    }
    return out;
  }

  /** allLines returns every event formatted, or undefined unless constructed with `captureAll`. */
  allLines(): readonly string[] | undefined {
    return this.captured;
  }
}
