import type { PerformanceEntry } from 'node:perf_hooks';
import { PerformanceObserver, constants } from 'node:perf_hooks';

/** RECENT_STALL_MS is the shortest stall the probe counts and keeps among the recent ones. */
export const RECENT_STALL_MS = 20;

/** RECENT_STALLS_MAX bounds how many recent stalls the probe keeps (the oldest go first). */
export const RECENT_STALLS_MAX = 64;

/** GC_PAUSES_KEPT is how many of the latest garbage-collection pauses the probe keeps to match with stalls. */
const GC_PAUSES_KEPT = 16;

/**
 * gcKind is a gc PerformanceEntry's kind (perf_hooks constants.NODE_PERFORMANCE_GC_*; 0 when not
 * said): its `detail.kind` (Node ≥ 16; the typings of this Node do not list it).
 */
export function gcKind(entry: PerformanceEntry): number {
  return (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
}

/** Stall is one stall of at least RECENT_STALL_MS. */
export interface Stall {
  /** ms is how much later than due the tick timer ran, in whole milliseconds. */
  readonly ms: number;
  /** at is when the stall ended (ISO 8601). */
  readonly at: string;
  /**
   * gcMs is how much of it garbage-collection pauses took, in whole milliseconds: near `ms`, a
   * GC pause (heap too full or too busy); near 0, synchronous work or a process that got no CPU.
   */
  readonly gcMs: number;
  /**
   * gcMajorMs is how much of `gcMs` major collections (mark-compact of the whole heap) took; the
   * rest were minor ones (scavenges of the young generation). Mostly major: the old generation is
   * large or fragmented (more live objects, or garbage promoted before it died); mostly minor:
   * many objects survive their first collections (work held in flight for long).
   */
  readonly gcMajorMs: number;
  /**
   * cpuMs is the CPU time the process used (all its threads) from the tick before the stall to
   * the one after it, in whole milliseconds: about `ms` or more, the process was running
   * (synchronous work, GC); well below `ms`, it was waiting for a CPU (a CPU limit's throttling, a
   * busy host) or stopped.
   */
  readonly cpuMs: number;
  /**
   * cpuWaitMs is how long the event loop's thread was ready to run but waited for a CPU over the
   * same span, in whole milliseconds (Linux scheduler statistics; null where the system does not
   * say): near `ms`, the stall was the host's (a busy host, a CPU limit's throttling), not the
   * node's work. It spans the same ticks as `cpuMs` (from the tick before the stall), so
   * `ms` + one period − `cpuWaitMs` bounds what the node's own work and GC held it up.
   */
  readonly cpuWaitMs: number | null;
}

/** EventLoopStall is the longest the event loop was late since the node started, and the latest stalls. */
export interface EventLoopStall {
  /** longestMs is how much later than due the node's tick timer ran, at worst (0 before any tick). */
  readonly longestMs: number;
  /** at is when that stall ended (ISO 8601), or null when none was seen. */
  readonly at: string | null;
  /** count is how many stalls of at least RECENT_STALL_MS the node saw since start. */
  readonly count: number;
  /**
   * cpuWaitMs is how long the event loop's thread was ready to run but waited for a CPU since the
   * node started, in whole milliseconds (null where the system does not say): its rate is the
   * share of time the host or a CPU limit kept the node waiting.
   */
  readonly cpuWaitMs: number | null;
  /**
   * recent are the latest of those stalls, oldest first, at most RECENT_STALLS_MAX of them: what a
   * reader needs to find the longest stall within a stretch of time (a deploy, a load test) rather
   * than since start.
   */
  readonly recent: readonly Stall[];
}

/**
 * StallProbe measures event-loop stalls with the drift of a periodic timer: a run that comes
 * `periodMs` plus X after the previous one was held up by X (synchronous work, a GC pause, a
 * stopped process). The node feeds it its Raft tick timer, so what it reports is exactly how
 * late heartbeats and election timers ran.
 *
 * It also hears the process's garbage-collection pauses (`start()`: a PerformanceObserver of
 * `gc` entries, on the same clock as performance.now()) and tells, for each recent stall, how
 * much of it they took. A pause can be reported before or after the late tick that shows the
 * stall, so each (pause, stall) overlap is added by whichever of the two comes second.
 *
 * The recent stalls and pauses are rings of numbers, so observing allocates nothing; `stall()`
 * builds the objects when someone asks.
 */
export class StallProbe {
  private previousMs: number | undefined;
  private previousCpuMs = 0;
  /** cpuWaitMs is the latest CPU wait handed to `observe` (undefined: unknown). */
  private cpuWaitMs: number | undefined;
  /** firstCpuWaitMs is the first one, so the total counts from the node's start. */
  private firstCpuWaitMs: number | undefined;
  /** lastLateMs is how late the latest run was (0 when on time or early). */
  private lastLateMs = 0;
  private longestMs = 0;
  private at: string | null = null;
  private count = 0;
  private readonly recentMs: number[] = [];
  private readonly recentEndMs: number[] = [];
  private readonly recentWallMs: number[] = [];
  private readonly recentGcMs: number[] = [];
  private readonly recentGcMajorMs: number[] = [];
  private readonly recentCpuMs: number[] = [];
  /** recentCpuWaitMs holds each recent stall's CPU wait, NaN when unknown. */
  private readonly recentCpuWaitMs: number[] = [];
  private gcPauses = 0;
  private readonly gcStartMs: number[] = [];
  private readonly gcEndMs: number[] = [];
  private readonly gcMajor: boolean[] = [];
  private observer: PerformanceObserver | undefined;
  /**
   * built is the last answer of `stall()`, until a stall or a pause changes it (status() asks
   * often); a new CPU wait total alone replaces only the top object.
   */
  private built: EventLoopStall | undefined;

  /** constructor takes the timer's period. */
  constructor(private readonly periodMs: number) {}

  /** start begins hearing the process's garbage-collection pauses. */
  start(): void {
    if (this.observer !== undefined) return;
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.noteGc(entry.startTime, entry.duration, gcKind(entry) === constants.NODE_PERFORMANCE_GC_MAJOR);
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** stop stops hearing them. */
  stop(): void {
    this.observer?.disconnect();
    this.observer = undefined;
  }

  /**
   * observe records one timer run at monotonic time `nowMs`, with `wallMs` (Date.now()) for the
   * report, `cpuMs`, the process's CPU time so far (process.cpuUsage(), user + system), and
   * `cpuWaitMs`, how long the event loop's thread waited for a CPU so far (CpuWaitReader;
   * undefined when unknown).
   */
  observe(nowMs: number, wallMs: number, cpuMs: number, cpuWaitMs?: number): void {
    const previous = this.previousMs;
    const previousCpuMs = this.previousCpuMs;
    const previousCpuWaitMs = this.cpuWaitMs;
    this.previousMs = nowMs;
    this.previousCpuMs = cpuMs;
    this.cpuWaitMs = cpuWaitMs;
    this.firstCpuWaitMs ??= cpuWaitMs;
    if (previous === undefined) return;
    const lateMs = nowMs - previous - this.periodMs;
    this.lastLateMs = Math.max(0, lateMs);
    if (lateMs > this.longestMs) {
      this.longestMs = lateMs;
      this.at = new Date(wallMs).toISOString();
      this.built = undefined;
    }
    if (lateMs >= RECENT_STALL_MS) {
      this.built = undefined;
      const slot = this.count % RECENT_STALLS_MAX;
      this.recentMs[slot] = lateMs;
      this.recentEndMs[slot] = nowMs;
      this.recentWallMs[slot] = wallMs;
      this.recentCpuMs[slot] = cpuMs - previousCpuMs;
      this.recentCpuWaitMs[slot] =
        cpuWaitMs === undefined || previousCpuWaitMs === undefined ? NaN : cpuWaitMs - previousCpuWaitMs;
      let gcMs = 0;
      let gcMajorMs = 0;
      for (let k = Math.max(0, this.gcPauses - GC_PAUSES_KEPT); k < this.gcPauses; k++) {
        const g = k % GC_PAUSES_KEPT;
        const shared = overlapMs(nowMs - lateMs, nowMs, this.gcStartMs[g]!, this.gcEndMs[g]!);
        gcMs += shared;
        if (this.gcMajor[g]!) gcMajorMs += shared;
      }
      this.recentGcMs[slot] = gcMs;
      this.recentGcMajorMs[slot] = gcMajorMs;
      this.count++;
    }
  }

  /**
   * lateNowMs is how late the timer runs at monotonic `nowMs`: the delay of a run still overdue,
   * or else that of its latest run when that was within two periods; 0 below RECENT_STALL_MS (a
   * timer's jitter, no stall). Messages that arrive during a stall wait that long before they are
   * read, which no queue of the node's own counts (RenewalAdmission adds it to the renewal backlog).
   */
  lateNowMs(nowMs: number): number {
    const previous = this.previousMs;
    if (previous === undefined) return 0;
    const overdueMs = Math.max(0, nowMs - previous - this.periodMs);
    const lateMs = Math.max(overdueMs, nowMs - previous <= 2 * this.periodMs ? this.lastLateMs : 0);
    return lateMs < RECENT_STALL_MS ? 0 : lateMs;
  }

  /**
   * noteGc records one garbage-collection pause (performance.now() clock; `major`: a mark-compact,
   * not a scavenge) and adds it to the recent stalls it overlaps.
   */
  noteGc(startMs: number, durationMs: number, major = false): void {
    const endMs = startMs + durationMs;
    const g = this.gcPauses % GC_PAUSES_KEPT;
    this.gcStartMs[g] = startMs;
    this.gcEndMs[g] = endMs;
    this.gcMajor[g] = major;
    this.gcPauses++;
    for (let k = this.count - 1; k >= Math.max(0, this.count - RECENT_STALLS_MAX); k--) {
      const slot = k % RECENT_STALLS_MAX;
      const stallEndMs = this.recentEndMs[slot]!;
      if (stallEndMs <= startMs) break;
      const shared = overlapMs(stallEndMs - this.recentMs[slot]!, stallEndMs, startMs, endMs);
      if (shared === 0) continue;
      this.recentGcMs[slot]! += shared;
      if (major) this.recentGcMajorMs[slot]! += shared;
      this.built = undefined;
    }
  }

  /** stall is the longest stall seen so far and the recent ones, in whole milliseconds. */
  stall(): EventLoopStall {
    const cpuWaitMs = roundOrNull(
      this.cpuWaitMs === undefined || this.firstCpuWaitMs === undefined
        ? NaN
        : this.cpuWaitMs - this.firstCpuWaitMs,
    );
    if (this.built !== undefined) {
      // The wait grows nearly every tick on a busy host; the recent stalls are kept as they were.
      if (this.built.cpuWaitMs !== cpuWaitMs) this.built = { ...this.built, cpuWaitMs };
      return this.built;
    }
    const kept = Math.min(this.count, RECENT_STALLS_MAX);
    const recent: Stall[] = [];
    for (let k = this.count - kept; k < this.count; k++) {
      const slot = k % RECENT_STALLS_MAX;
      recent.push({
        ms: Math.round(this.recentMs[slot]!),
        at: new Date(this.recentWallMs[slot]!).toISOString(),
        gcMs: Math.round(Math.min(this.recentGcMs[slot]!, this.recentMs[slot]!)),
        gcMajorMs: Math.round(Math.min(this.recentGcMajorMs[slot]!, this.recentMs[slot]!)),
        cpuMs: Math.round(this.recentCpuMs[slot]!),
        cpuWaitMs: roundOrNull(this.recentCpuWaitMs[slot]!),
      });
    }
    this.built = { longestMs: Math.round(this.longestMs), at: this.at, count: this.count, cpuWaitMs, recent };
    return this.built;
  }
}

/** roundOrNull is `ms` in whole milliseconds, or null for NaN (unknown). */
function roundOrNull(ms: number): number | null {
  return Number.isNaN(ms) ? null : Math.round(ms);
}

/** overlapMs is how long the intervals [a0, a1] and [b0, b1] share. */
function overlapMs(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}
