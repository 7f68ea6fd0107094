import { closeSync, openSync, readSync } from 'node:fs';

/** TIMER_LIST is the kernel file whose header says `now at <ns> nsecs`: CLOCK_MONOTONIC, read by the kernel. */
export const TIMER_LIST = '/proc/timer_list';

/** TIMER_LIST_HEADER_BYTES is how much of TIMER_LIST is read: the header that holds `now at`. */
export const TIMER_LIST_HEADER_BYTES = 160;

/**
 * parseTimerListNow returns the `now at <ns> nsecs` of a /proc/timer_list header, or undefined.
 */
export function parseTimerListNow(header: string): bigint | undefined {
  const m = /now at (\d{1,20}) nsecs/.exec(header);
  return m?.[1] === undefined ? undefined : BigInt(m[1]);
}

/**
 * KernelClock reads the monotonic clock from the kernel (/proc/timer_list, root only), not
 * through libc: a worker whose clock libfaketime fakes — monotonic clock included, to drift the
 * SDK's lease timing — still writes history times comparable with the other processes on the
 * host (`process.hrtime.bigint()` there). Each read is a pread of the header (well under a
 * millisecond).
 */
export class KernelClock {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(TIMER_LIST_HEADER_BYTES);

  constructor(file: string = TIMER_LIST) {
    this.fd = openSync(file, 'r');
    this.now();
  }

  /** now returns the kernel's CLOCK_MONOTONIC in nanoseconds. */
  now(): bigint {
    const n = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
    const ns = parseTimerListNow(this.buffer.toString('latin1', 0, n));
    if (ns === undefined) throw new Error(`${TIMER_LIST} has no "now at <ns> nsecs" in its first ${n} bytes`);
    return ns;
  }

  /** close closes the file. */
  close(): void {
    closeSync(this.fd);
  }
}
