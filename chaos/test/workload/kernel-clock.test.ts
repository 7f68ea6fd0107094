import { KernelClock, parseTimerListNow } from '../../src/workload/kernel-clock';
import { describeAsRoot } from '../helpers/root';

describe('parseTimerListNow', () => {
  it('reads the "now at" of a /proc/timer_list header', () => {
    const header = 'Timer List Version: v0.10\nHRTIMER_MAX_CLOCK_BASES: 8\nnow at 39980051785303 nsecs\n';
    expect(parseTimerListNow(header)).toBe(39980051785303n);
  });

  it('returns undefined without one', () => {
    expect(parseTimerListNow('Timer List Version: v0.10\n')).toBeUndefined();
  });
});

describeAsRoot('KernelClock', () => {
  it("reads the kernel's monotonic clock, the one process.hrtime reads", () => {
    const clock = new KernelClock();
    try {
      const before = process.hrtime.bigint();
      const kernel = clock.now();
      const after = process.hrtime.bigint();
      expect(kernel >= before && kernel <= after).toBe(true);
    } finally {
      clock.close();
    }
  });
});
