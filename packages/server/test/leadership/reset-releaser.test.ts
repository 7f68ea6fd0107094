import type { LeaseRef } from '@omnirelay/leadership-fsm';
import { pino } from 'pino';
import { ResetReleaser } from '../../src/index';
import { leaseKey } from '../../src/leadership/renewal-batcher';

const logger = pino({ level: 'silent' });

function lease(i: number): LeaseRef {
  return { scope: `r/${i}`, fenceToken: BigInt(100 + i) };
}

describe('ResetReleaser', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function releaser(isLeader = true, pendingMax?: number): { r: ResetReleaser; released: LeaseRef[] } {
    const released: LeaseRef[] = [];
    const r = new ResetReleaser(
      (l) => {
        released.push(l);
        return Promise.resolve();
      },
      logger,
      isLeader,
      pendingMax,
    );
    return { r, released };
  }

  it('releases a lease by its fence once its grace passed without a renewal', () => {
    const { r, released } = releaser();
    r.arm([{ lease: lease(1), graceMs: 150 }]);
    jest.advanceTimersByTime(149);
    expect(released).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(released).toEqual([lease(1)]);
    expect(r.pendingCount).toBe(0);
  });

  it('does not release a lease renewed within its grace', () => {
    const { r, released } = releaser();
    r.arm([
      { lease: lease(1), graceMs: 150 },
      { lease: lease(2), graceMs: 150 },
    ]);
    r.cancel({ scope: 'r/1', fenceToken: 101n });
    jest.advanceTimersByTime(1000);
    expect(released).toEqual([lease(2)]);
  });

  it('arms, for a reset stream, only the leases it still owns: a lease a newer stream listed since is kept', () => {
    const { r, released } = releaser();
    const old = {};
    const newer = {};
    r.claim(old, leaseKey(lease(1)));
    r.claim(old, leaseKey(lease(2)));
    // The holder reconnected and renewed lease 1 on a new stream before the old stream's reset was seen.
    r.claim(newer, leaseKey(lease(1)));
    r.arm(
      [
        { lease: lease(1), graceMs: 100 },
        { lease: lease(2), graceMs: 100 },
      ],
      old,
    );
    expect(r.pendingCount).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(released).toEqual([lease(2)]);
    // The old stream's claims ended; the newer one still owns lease 1 until it ends too.
    expect(r.ownerCount).toBe(1);
    r.disown(old, leaseKey(lease(1)));
    expect(r.ownerCount).toBe(1);
    r.disown(newer, leaseKey(lease(1)));
    expect(r.ownerCount).toBe(0);
  });

  it('re-arms a lease armed twice with the later grace, keeping one timer', () => {
    const { r, released } = releaser();
    r.arm([{ lease: lease(1), graceMs: 100 }]);
    jest.advanceTimersByTime(50);
    r.arm([{ lease: lease(1), graceMs: 300 }]);
    expect(r.pendingCount).toBe(1);
    jest.advanceTimersByTime(299);
    expect(released).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(released).toEqual([lease(1)]);
  });

  it('drops every timer when this node stops leading, and arms nothing off the leader', () => {
    const { r, released } = releaser();
    r.arm([{ lease: lease(1), graceMs: 100 }]);
    r.setLeader(false);
    expect(r.pendingCount).toBe(0);
    r.arm([{ lease: lease(2), graceMs: 100 }]);
    expect(r.pendingCount).toBe(0);
    jest.advanceTimersByTime(1000);
    expect(released).toEqual([]);
    r.setLeader(true);
    r.arm([{ lease: lease(3), graceMs: 100 }]);
    jest.advanceTimersByTime(100);
    expect(released).toEqual([lease(3)]);
  });

  it('keeps at most its bound of timers; the leases past it are left to TTL expiry', () => {
    const { r, released } = releaser(true, 3);
    r.arm(Array.from({ length: 10 }, (_, i) => ({ lease: lease(i), graceMs: 100 })));
    expect(r.pendingCount).toBe(3);
    // A lease already pending is re-armed even at the bound.
    r.arm([{ lease: lease(0), graceMs: 200 }]);
    expect(r.pendingCount).toBe(3);
    jest.advanceTimersByTime(1000);
    expect(released).toEqual([lease(1), lease(2), lease(0)]);
  });

  it('stops for good: no timer fires after stop', () => {
    const { r, released } = releaser();
    r.arm([{ lease: lease(1), graceMs: 100 }]);
    r.stop();
    jest.advanceTimersByTime(1000);
    expect(released).toEqual([]);
    expect(r.pendingCount).toBe(0);
  });
});
