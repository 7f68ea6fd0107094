import { appendFileSync } from 'node:fs';

/** monotonicNs is the run's clock: monotonic nanoseconds, comparable with the workers' history times. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/** TimelineRecord is one line of timeline.jsonl (chaos/README.md, "Timeline"). */
export interface TimelineRecord {
  readonly time: string;
  readonly kind: 'fault' | 'heal' | 'restart';
  readonly fault: string;
  readonly target?: string;
  readonly scopes?: readonly string[];
}

/** Timeline appends fault, heal and restart records to timeline.jsonl as they happen, and keeps them for the report. */
export class Timeline {
  readonly records: TimelineRecord[] = [];

  constructor(
    private readonly file: string,
    private readonly progress: (line: string) => void,
  ) {}

  /** fault records the start of a fault on `target` (and the scopes it concerns). */
  fault(fault: string, target: string, scopes?: readonly string[]): void {
    this.add({
      time: monotonicNs().toString(),
      kind: 'fault',
      fault,
      target,
      ...(scopes === undefined ? {} : { scopes }),
    });
  }

  /** heal records the end of the open fault with the same name and target. */
  heal(fault: string, target: string): void {
    this.add({ time: monotonicNs().toString(), kind: 'heal', fault, target });
  }

  /** restart records a full-cluster kill and start. */
  restart(): void {
    this.add({ time: monotonicNs().toString(), kind: 'restart', fault: 'restart-all' });
  }

  private add(r: TimelineRecord): void {
    this.records.push(r);
    appendFileSync(this.file, `${JSON.stringify(r)}\n`);
    this.progress(
      `${r.kind} ${r.fault}${r.target === undefined ? '' : ` ${r.target}`}${r.scopes === undefined ? '' : ` [${r.scopes.join(',')}]`}`,
    );
  }
}
