import { existsSync, writeFileSync } from 'node:fs';

/** SKEW_MS_MAX is the largest wall-clock skew a clock fault may set (DESIGN.md assumes < 250 ms). */
export const SKEW_MS_MAX = 250;
/** JUMP_MS_MAX bounds a wall-clock jump (forward or back). */
export const JUMP_MS_MAX = 3_600_000;
/** RATE_MIN and RATE_MAX bound a clock-rate drift factor. */
export const RATE_MIN = 0.5;
export const RATE_MAX = 2;

/** LIBFAKETIME_PATHS are where Debian puts libfaketime (the multi-threaded build comes first: Node has threads). */
export const LIBFAKETIME_PATHS = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/faketime/libfaketimeMT.so.1',
] as const;

/** libfaketimePath returns the installed libfaketime, or undefined (clock faults then cannot run). */
export function libfaketimePath(): string | undefined {
  return LIBFAKETIME_PATHS.find((p) => existsSync(p));
}

/** ClockSetting is one process's wall clock: an offset from the real clock and a rate. */
export interface ClockSetting {
  readonly offsetMs: number;
  readonly rate: number;
}

/**
 * faketimeSpec renders a ClockSetting in libfaketime's syntax: `+0.250000 x1.050000` (a relative
 * offset in seconds, then a rate). A rate other than 1 drifts from the moment the process starts.
 */
export function faketimeSpec(setting: ClockSetting): string {
  if (!Number.isFinite(setting.offsetMs) || Math.abs(setting.offsetMs) > JUMP_MS_MAX) {
    throw new RangeError(`a clock offset must be within ±${JUMP_MS_MAX} ms, got ${setting.offsetMs}`);
  }
  if (!(setting.rate >= RATE_MIN && setting.rate <= RATE_MAX)) {
    throw new RangeError(`a clock rate must be in ${RATE_MIN}..${RATE_MAX}, got ${setting.rate}`);
  }
  const seconds = (setting.offsetMs / 1000).toFixed(6);
  const offset = setting.offsetMs >= 0 ? `+${seconds}` : seconds;
  return setting.rate === 1 ? offset : `${offset} x${setting.rate.toFixed(6)}`;
}

/**
 * FakeClock is one process's libfaketime clock, driven through a timestamp file that libfaketime
 * re-reads on every call (FAKETIME_NO_CACHE): `set` changes the process's wall clock while it runs
 * (a skew, a forward or backward jump). By default only the wall clock is faked
 * (FAKETIME_DONT_FAKE_MONOTONIC=1): Node's timers hang if the monotonic clock steps back.
 *
 * With `fakeMonotonic` (a client worker's clock) the monotonic clock is faked too — the SDK times
 * leases with performance.now(), so only this makes a client's drift real — and `set` then
 * refuses every change that would step it back: libfaketime applies a rate from the process's
 * start, so a rate is fixed for the process's life, and an offset may only grow (a forward jump).
 */
export class FakeClock {
  private setting: ClockSetting;

  constructor(
    private readonly file: string,
    initial: ClockSetting = { offsetMs: 0, rate: 1 },
    private readonly fakeMonotonic = false,
  ) {
    this.setting = initial;
    this.write();
  }

  /** env returns the variables that put a child process on this clock. */
  env(): Record<string, string> {
    const lib = libfaketimePath();
    if (lib === undefined) throw new Error('libfaketime is not installed (apt-get install faketime)');
    return {
      LD_PRELOAD: lib,
      FAKETIME_TIMESTAMP_FILE: this.file,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: this.fakeMonotonic ? '0' : '1',
    };
  }

  /** current returns the setting in force. */
  current(): ClockSetting {
    return this.setting;
  }

  /** set moves the process's wall clock to `setting` (absolute: an offset from the real clock). */
  set(setting: ClockSetting): void {
    if (
      this.fakeMonotonic &&
      (setting.rate !== this.setting.rate || setting.offsetMs < this.setting.offsetMs)
    ) {
      throw new RangeError(
        `a clock that fakes the monotonic clock only jumps forward at a fixed rate (x${this.setting.rate}, offset ≥ ${this.setting.offsetMs} ms), got ${faketimeSpec(setting)}`,
      );
    }
    this.setting = setting;
    this.write();
  }

  private write(): void {
    writeFileSync(this.file, `${faketimeSpec(this.setting)}\n`);
  }
}
