import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CpuWaitReader, schedstatField } from '../../src/node/cpu-wait';

/** HOG_MS is how long each competing process spins (it exits by itself; the test also kills it). */
const HOG_MS = 3_000;
/** BUSY_MS is how long the test's own thread spins while they compete with it. */
const BUSY_MS = 400;

const linux = existsSync('/proc/thread-self/schedstat');

describe('CpuWaitReader', () => {
  it('parses the first or the second field of a schedstat line, and nothing else', () => {
    const line = (text: string): [Buffer, number] => {
      const b = Buffer.from(text);
      return [b, b.length];
    };
    expect(schedstatField(...line('1234923 987654321 17\n'), 1)).toBe(987_654_321);
    expect(schedstatField(...line('1234923 987654321 17\n'), 0)).toBe(1_234_923);
    expect(schedstatField(...line('5 0 1\n'), 1)).toBe(0);
    expect(schedstatField(...line('1234923\n'), 1)).toBeUndefined();
    expect(schedstatField(...line('1234923\n'), 0)).toBe(1_234_923);
    expect(schedstatField(...line('1234923 x 1\n'), 1)).toBeUndefined();
    expect(schedstatField(...line('x 1 1\n'), 0)).toBeUndefined();
    expect(schedstatField(...line(''), 0)).toBeUndefined();
    expect(schedstatField(...line(''), 1)).toBeUndefined();
    // Only the bytes read count, not what the buffer held before.
    expect(schedstatField(Buffer.from('1 23 4\n'), 3, 1)).toBe(2);
  });

  it('answers undefined where the system keeps no scheduler statistics, and stops trying', () => {
    const reader = new CpuWaitReader('/proc/thread-self/no-such-file');
    expect(reader.read()).toBeUndefined();
    expect(reader.readOnCpu()).toBeUndefined();
    expect(reader.readBoth()).toBeUndefined();
    expect(reader.read()).toBeUndefined();
    reader.close();
  });

  (linux ? it : it.skip)('reads both fields from one read, as the single reads answer them', () => {
    const reader = new CpuWaitReader();
    try {
      const onCpuBefore = reader.readOnCpu()!;
      const waitBefore = reader.read()!;
      const [onCpu, wait] = reader.readBoth()!;
      const onCpuAfter = reader.readOnCpu()!;
      const waitAfter = reader.read()!;
      expect(onCpu).toBeGreaterThanOrEqual(onCpuBefore);
      expect(onCpu).toBeLessThanOrEqual(onCpuAfter);
      expect(wait).toBeGreaterThanOrEqual(waitBefore);
      expect(wait).toBeLessThanOrEqual(waitAfter);
    } finally {
      reader.close();
    }
  });

  (linux ? it : it.skip)(
    "reads the thread's own CPU time growing while it spins, and not while it sleeps",
    async () => {
      const reader = new CpuWaitReader();
      try {
        const before = reader.readOnCpu()!;
        expect(before).toBeGreaterThan(0);
        const began = performance.now();
        while (performance.now() - began < 200);
        const spun = reader.readOnCpu()! - before;
        // On a CPU for at most the spin's wall time, and for a good part of it even on a busy host.
        expect(spun).toBeGreaterThan(20);
        expect(spun).toBeLessThanOrEqual(performance.now() - began + 5);
        // A sleeping thread is off the CPU, but the test worker's own work (a collection, the
        // runner's messages) may land in one sleep (CI once saw 129 ms of 200): the least of up to
        // three sleeps is compared. A reader that counted wall time or another thread would show
        // about 200 ms in every one.
        let sleptOnCpuLeast = Number.POSITIVE_INFINITY;
        for (let attempt = 0; attempt < 3 && sleptOnCpuLeast >= 100; attempt++) {
          const slept = reader.readOnCpu()!;
          await new Promise((resolve) => setTimeout(resolve, 200));
          sleptOnCpuLeast = Math.min(sleptOnCpuLeast, reader.readOnCpu()! - slept);
        }
        expect(sleptOnCpuLeast).toBeLessThan(100);
      } finally {
        reader.close();
      }
    },
  );

  (linux ? it : it.skip)('reads a wait that grows while other processes keep every CPU busy', async () => {
    const reader = new CpuWaitReader();
    const hogs: ChildProcess[] = [];
    try {
      const before = reader.read();
      expect(before).toBeGreaterThanOrEqual(0);
      // Twice as many spinning processes as CPUs (at most 16): this thread gets about half a CPU.
      const count = Math.min(16, 2 * availableParallelism());
      for (let k = 0; k < count; k++) {
        hogs.push(
          spawn(process.execPath, ['-e', `const end = Date.now() + ${HOG_MS}; while (Date.now() < end);`], {
            stdio: 'ignore',
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 300)); // let them start spinning
      const began = performance.now();
      while (performance.now() - began < BUSY_MS);
      const after = reader.read()!;
      expect(after - before!).toBeGreaterThan(BUSY_MS / 10);
      expect(after - before!).toBeLessThan(performance.now() - began + 400);
    } finally {
      for (const hog of hogs)
        if (hog.pid !== undefined && hog.exitCode === null) process.kill(hog.pid, 'SIGKILL');
      reader.close();
    }
  });
});
