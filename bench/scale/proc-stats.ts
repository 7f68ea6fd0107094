/**
 * Process figures read from Linux's /proc: CPU time (user + system) and resident memory of a
 * process by PID, for the scale bench's per-node RSS and CPU.
 */
import { readFileSync } from 'node:fs';

/** CLOCK_TICKS_PER_S is Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat. */
const CLOCK_TICKS_PER_S = 100;

/** ProcSample is one reading of one process. */
export interface ProcSample {
  /** cpuMs is the user + system CPU time the process used since it started. */
  readonly cpuMs: number;
  /** rssBytes is its resident set now; peakRssBytes the largest since it started (VmHWM). */
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

/** readProc reads one process's figures, or undefined when it is gone (or not on Linux). */
export function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m === null ? Number.NaN : Number(m[1]) * 1024;
    };
    return {
      cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS_PER_S,
      rssBytes: kb('VmRSS'),
      peakRssBytes: kb('VmHWM'),
    };
  } catch {
    return undefined;
  }
}

/** ProcWindow is one process over a measured window. */
export interface ProcWindow {
  readonly pid: number;
  /** cpuPercent is CPU time over the window / the window (100 = one core busy). */
  readonly cpuPercent: number;
  readonly cpuMs: number;
  /** rssMaxBytes is the largest RSS sampled in the window; rssEndBytes the last. */
  readonly rssMaxBytes: number;
  readonly rssEndBytes: number;
  /** peakRssBytes is VmHWM at the end: the largest RSS since the process started. */
  readonly peakRssBytes: number;
}

/**
 * ProcSampler samples a set of processes every `everyMs` between start() and stop(), and
 * reports CPU and RSS over that window for each one that lived through it.
 */
export class ProcSampler {
  private readonly first = new Map<number, ProcSample>();
  private readonly last = new Map<number, ProcSample>();
  private readonly rssMax = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  constructor(
    private readonly pids: readonly number[],
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  stop(): ProcWindow[] {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.sample();
    const windowMs = performance.now() - this.startedAt;
    return this.pids.flatMap((pid) => {
      const a = this.first.get(pid);
      const b = this.last.get(pid);
      if (a === undefined || b === undefined) return [];
      const cpuMs = b.cpuMs - a.cpuMs;
      return [
        {
          pid,
          cpuPercent: (100 * cpuMs) / windowMs,
          cpuMs,
          rssMaxBytes: this.rssMax.get(pid) ?? b.rssBytes,
          rssEndBytes: b.rssBytes,
          peakRssBytes: b.peakRssBytes,
        },
      ];
    });
  }

  private sample(): void {
    for (const pid of this.pids) {
      const s = readProc(pid);
      if (s === undefined) continue;
      if (!this.first.has(pid)) this.first.set(pid, s);
      this.last.set(pid, s);
      this.rssMax.set(pid, Math.max(this.rssMax.get(pid) ?? 0, s.rssBytes));
    }
  }
}

/** formatWindows is one progress line's worth of each member's CPU and largest RSS. */
export function formatWindows(nodes: Readonly<Record<string, ProcWindow>>): string {
  return Object.entries(nodes)
    .map(
      ([m, w]) => `${m} CPU ${w.cpuPercent.toFixed(0)}% RSS max ${(w.rssMaxBytes / 2 ** 20).toFixed(0)} MiB`,
    )
    .join(', ');
}
