import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CleanupRegistry } from '../../src/harness/cleanup';
import { FakeClock, faketimeSpec } from '../../src/harness/clocks';
import { ManagedProcess } from '../../src/harness/processes';
import { describeWithFaketime } from '../helpers/root';

/** PRINTER prints "<wall ms> <monotonic ms>" every 50 ms, for at most 20 s. */
const PRINTER =
  "const t=setInterval(()=>console.log(Date.now()+' '+performance.now()),50);setTimeout(()=>clearInterval(t),20000)";

/** DRIFT prints "ratio <wall elapsed / monotonic elapsed>" over one second. */
const DRIFT =
  "const w=Date.now(),m=performance.now();setTimeout(()=>console.log('ratio '+((Date.now()-w)/(performance.now()-m))),1000)";

describe('faketimeSpec', () => {
  it('renders an offset and a rate in libfaketime syntax', () => {
    expect(faketimeSpec({ offsetMs: 250, rate: 1 })).toBe('+0.250000');
    expect(faketimeSpec({ offsetMs: -250, rate: 1.1 })).toBe('-0.250000 x1.100000');
  });

  it('refuses, on a clock that fakes the monotonic clock, a rate change or a step back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaos-clock-'));
    try {
      const clock = new FakeClock(join(dir, 'faketime'), { offsetMs: 0, rate: 0.9 }, true);
      expect(clock.env()['FAKETIME_DONT_FAKE_MONOTONIC']).toBe('0');
      expect(() => clock.set({ offsetMs: 0, rate: 1 })).toThrow('only jumps forward at a fixed rate');
      expect(() => clock.set({ offsetMs: -1, rate: 0.9 })).toThrow('only jumps forward at a fixed rate');
      clock.set({ offsetMs: 3000, rate: 0.9 });
      expect(clock.current()).toEqual({ offsetMs: 3000, rate: 0.9 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a rate out of bounds', () => {
    expect(() => faketimeSpec({ offsetMs: 0, rate: 0 })).toThrow('a clock rate must be in 0.5..2, got 0');
  });
});

/** TIMER prints "start", then "done <monotonic ms>" when a 1,000 ms timer fires. */
const TIMER = "console.log('start');setTimeout(()=>console.log('done '+performance.now()),1000)";

/**
 * withClockedChild starts `script` in a child on a FakeClock set to `initial` (faking the
 * monotonic clock too with `fakeMonotonic`), hands both to `body`, and stops the child (by PID)
 * and removes its folder afterwards.
 */
async function withClockedChild(
  initial: { offsetMs: number; rate: number },
  script: string,
  body: (clock: FakeClock, child: ManagedProcess) => Promise<void>,
  fakeMonotonic = false,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-clock-'));
  const cleanup = new CleanupRegistry();
  try {
    const clock = new FakeClock(join(dir, 'faketime'), initial, fakeMonotonic);
    const child = new ManagedProcess(
      {
        name: 'clocked',
        argv: [process.execPath, '-e', script],
        env: clock.env(),
        logFile: join(dir, 'log'),
        pipeStdout: true,
      },
      cleanup,
    );
    child.start();
    await body(clock, child);
  } finally {
    await cleanup.runAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CHILD_TEST_MS bounds each test below: a child under libfaketime starts slowly on a busy
 * machine (Jest's default 5 s timed one out in CI), and each test waits up to 10 s per line.
 */
const CHILD_TEST_MS = 30_000;

describeWithFaketime('FakeClock', () => {
  it(
    'drifts the wall clock of a child at the given rate while its monotonic clock runs true',
    async () => {
      await withClockedChild({ offsetMs: 0, rate: 1.1 }, DRIFT, async (_clock, p) => {
        const line = await p.waitForLine((l) => l.startsWith('ratio '), 10_000);
        const ratio = Number(line.split(' ')[1]);
        expect(ratio).toBeGreaterThan(1.05);
        expect(ratio).toBeLessThan(1.15);
      });
    },
    CHILD_TEST_MS,
  );

  it(
    'runs the monotonic clock of a child at the given rate from its start, and its timers follow it (a node clock)',
    async () => {
      await withClockedChild(
        { offsetMs: 0, rate: 2 },
        TIMER,
        async (_clock, p) => {
          await p.waitForLine((l) => l === 'start', 10_000);
          const from = performance.now();
          const done = await p.waitForLine((l) => l.startsWith('done '), 10_000);
          const realMs = performance.now() - from;
          // The child's 1,000 ms passed on its own clock; in real time about 500 ms (a timer
          // that ignored the rate would take 1,000 ms or more).
          expect(Number(done.split(' ')[1])).toBeGreaterThanOrEqual(1000);
          expect(realMs).toBeLessThan(900);
        },
        true,
      );
    },
    CHILD_TEST_MS,
  );

  it(
    'skews and then jumps the wall clock of a running child, and leaves its monotonic clock alone',
    async () => {
      await withClockedChild({ offsetMs: 250, rate: 1 }, PRINTER, async (clock, p) => {
        const samples: Array<{ offset: number; monotonic: number }> = [];
        const next = (): Promise<{ offset: number; monotonic: number }> =>
          p
            .waitForLine(() => true, 5000)
            .then((line) => {
              const [wall, monotonic] = line.split(' ').map(Number);
              return { offset: (wall ?? 0) - Date.now(), monotonic: monotonic ?? 0 };
            });
        samples.push(await next());
        expect(Math.abs((samples[0]?.offset ?? 0) - 250)).toBeLessThan(150);
        clock.set({ offsetMs: -60_000, rate: 1 });
        for (let i = 0; i < 40; i++) {
          const s = await next();
          samples.push(s);
          if (s.offset < -30_000) break;
        }
        const last = samples[samples.length - 1];
        expect(Math.abs((last?.offset ?? 0) + 60_000)).toBeLessThan(150);
        // The monotonic clock never went back.
        for (let i = 1; i < samples.length; i++) {
          expect(samples[i]!.monotonic).toBeGreaterThanOrEqual(samples[i - 1]!.monotonic);
        }
      });
    },
    CHILD_TEST_MS,
  );
});
