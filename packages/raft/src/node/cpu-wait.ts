import { closeSync, openSync, readSync } from 'node:fs';

/** SCHEDSTAT_PATH is Linux's scheduler statistics of the calling thread: on-CPU ns, run-queue wait ns, timeslices. */
const SCHEDSTAT_PATH = '/proc/thread-self/schedstat';

/** SCHEDSTAT_BYTES_MAX bounds one read of it (three decimal numbers). */
const SCHEDSTAT_BYTES_MAX = 96;

const NS_PER_MS = 1e6;
const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** SchedstatField names a field of a schedstat line: 0, time on a CPU; 1, time waiting for one. */
type SchedstatField = 0 | 1;

/**
 * CpuWaitReader reads how long the calling thread (the event loop's) has been ready to run but
 * waited for a CPU, in milliseconds since it started: the second field of Linux's
 * `/proc/thread-self/schedstat` (a busy host, or a CPU limit that throttles the process). A stall
 * of the event loop that is mostly this wait is not the node's own work. `readOnCpu` reads the
 * first field, the thread's own time on a CPU (a bench's per-phase CPU time).
 *
 * The file stays open and is read into one buffer, so a read allocates nothing (the tick timer
 * reads it every tick, a few microseconds). Where the file does not exist (not Linux, no
 * scheduler statistics), `read` answers undefined and never tries again.
 */
export class CpuWaitReader {
  private fd: number | undefined;
  private unavailable = false;
  private readonly buffer = Buffer.alloc(SCHEDSTAT_BYTES_MAX);

  constructor(private readonly path: string = SCHEDSTAT_PATH) {}

  /** read answers the wait so far in milliseconds, or undefined when the system does not say. */
  read(): number | undefined {
    return this.readFields()?.[1];
  }

  /** readOnCpu answers the thread's time on a CPU so far in milliseconds, or undefined when the system does not say. */
  readOnCpu(): number | undefined {
    return this.readFields()?.[0];
  }

  /** readBoth answers both, from one read: [on a CPU, waiting for one], in milliseconds. */
  readBoth(): readonly [onCpuMs: number, waitMs: number] | undefined {
    return this.readFields();
  }

  /** readFields reads the file once and parses both fields; undefined (for good) when either is missing. */
  private readFields(): [onCpuMs: number, waitMs: number] | undefined {
    if (this.unavailable) return undefined;
    try {
      this.fd ??= openSync(this.path, 'r');
      const length = readSync(this.fd, this.buffer, 0, SCHEDSTAT_BYTES_MAX, 0);
      const onCpu = schedstatField(this.buffer, length, 0);
      const wait = schedstatField(this.buffer, length, 1);
      if (onCpu !== undefined && wait !== undefined) return [onCpu / NS_PER_MS, wait / NS_PER_MS];
    } catch {
      // Not Linux, or the file went away: say nothing rather than a wrong figure.
    }
    this.close();
    this.unavailable = true;
    return undefined;
  }

  /** close releases the file; a later `read` opens it again. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing to release.
    }
  }
}

/**
 * schedstatField parses field `field` (0: the first) of the space-separated decimals in
 * `buffer[0, length)`, or undefined when it is not one.
 */
export function schedstatField(
  buffer: Uint8Array,
  length: number,
  field: SchedstatField,
): number | undefined {
  let at = 0;
  for (let skipped = 0; skipped < field; skipped++) {
    while (at < length && buffer[at] !== SPACE) at++;
    at++;
  }
  let value = 0;
  let digits = 0;
  for (; at < length; at++) {
    const c = buffer[at]!;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    value = value * 10 + (c - DIGIT_0);
    digits++;
  }
  return digits === 0 ? undefined : value;
}
