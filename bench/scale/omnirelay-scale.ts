/**
 * The OmniRelay side of the scale bench: a fresh 3-node cluster; `clients` SDK clients in
 * `leaseWorkers` worker threads acquire `leases` leases (TTL `ttlMs`) and renew them through the
 * SDK's KeepAlive streams; then, for the sustained window, `watchers` watchers on a follower see
 * spaced probe writes (workload (e) of compare) while the nodes' CPU and RSS are sampled; then a
 * planned transfer and a SIGKILL of the leader under that load; after one more TTL, every
 * lease must still be held, on every node and by its client.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RAFT_NODE_DEFAULTS } from '@omnirelay/raft';
import { progress } from '../support/stats';
import { trackPids } from '../compare/children';
import { OmniRelayTarget, cpuProfArgs } from '../compare/omnirelay-target';
import { summarizeMs } from '../compare/summary';
import type { SampleSummary } from '../compare/summary';
import { sleep, withDeadline } from '../compare/time';
import { runWatch } from '../compare/workload-watch';
import type { WatchResult } from '../compare/workload-watch';
import type { ScaleConfig } from './config';
import type { LeaseWorkerData, LostGroup, ScaleWorkerReport, UnansweredGroup } from './lease-worker';
import { ProcSampler, formatWindows } from './proc-stats';
import type { ProcWindow } from './proc-stats';
import { ask, share } from './worker-messages';

/**
 * FILL_MS_MAX bounds how long the bench waits for the workers to acquire every lease; past it the
 * run goes on with the leases held by then (the acquires go on in the background).
 */
const FILL_MS_MAX = 900_000;
/** REPORT_MS_MAX bounds a worker's answer to `report`. */
const REPORT_MS_MAX = 30_000;
/** FILL_PROGRESS_MS is how often the fill reports how many leases are held and lost so far. */
const FILL_PROGRESS_MS = 10_000;
/** WORKER_STOP_MS_MAX bounds a worker's orderly stop before it is terminated. */
const WORKER_STOP_MS_MAX = 5000;
/** LEADER_MS_MAX bounds every wait for a leader. */
const LEADER_MS_MAX = 30_000;
/** ADMISSION_SETTLE_MS_MAX bounds the wait, after the fill, for the leader to admit new leases again. */
const ADMISSION_SETTLE_MS_MAX = 60_000;
/** ADMISSION_POLL_MS is how often that wait asks the leader. */
const ADMISSION_POLL_MS = 500;
/** CATCH_UP_MS_MAX bounds the restarted member's catch-up. */
const CATCH_UP_MS_MAX = 120_000;
/**
 * WRITE_MS_MAX bounds each of the bench's own writes (the watch probe's acquires), retries
 * included. At 100,000 leases a leader may refuse new leases for seconds at a time while it
 * catches up with renewals (admission control, BACKPRESSURE), also after `untilAdmitting` let the
 * window start; the SDK retries with backoff, and the run waits that out instead of ending
 * without its figures (the compare bench's 5 s did end two runs that had held the fill).
 */
const WRITE_MS_MAX = 30_000;
/** WATCH_SEEN_WAIT_MS is how long each probe write of the window waits for every watcher to see it. */
const WATCH_SEEN_WAIT_MS = 2000;
/** LEASE_TTL_MS_MAX is the longest lease the cluster grants (one hour). */
const LEASE_TTL_MS_MAX = 3_600_000;
/** HTTP_MS_MAX bounds each /status or /metrics read. */
const HTTP_MS_MAX = 10_000;

/** NodeFigures is one node after the run: what /status and /metrics say. */
export interface NodeFigures {
  readonly id: string;
  readonly role: string;
  /** term is the node's Raft term at the end. */
  readonly term: number;
  /** leases is the number of live leases this node's state machine holds. */
  readonly leases: number;
  /** stallMsMax is the longest event-loop stall since the node (re)started (/status eventLoopStall). */
  readonly stallMsMax: number;
  /** stallAt is when that stall ended (ISO 8601), to place it among the phases. */
  readonly stallAt: string | null;
  /** lastCompaction is the last snapshot the node took (duration, capture, largest slice), if any. */
  readonly lastCompaction: unknown;
  /** expired counts holder changes with reason `expired` this process applied (mesh_leadership_transitions_total). */
  readonly expired: number;
  /** overlap counts the ledger's split-brain canary (must stay 0). */
  readonly overlap: number;
  /** restarted says the node was the one killed and started again (its counters restart). */
  readonly restarted: boolean;
  /**
   * heapUsedBytes and rssBytes are the node's V8 heap in use and its resident set at the end
   * (nodejs_heap_size_used_bytes, process_resident_memory_bytes): how much of the RSS is live data.
   */
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
  /** externalBytes is memory outside the V8 heap held by JS objects, Buffers mostly (nodejs_external_memory_bytes). */
  readonly externalBytes: number;
  /** logBytes is the Raft log the node holds in memory (/status logBytes). */
  readonly logBytes: number;
}

/**
 * WindowStalls is one node's event-loop stalls within the sustained window, from its /status
 * `eventLoopStall` read as the window begins, every STALL_POLL_MS through it and as it ends: the
 * node counts every stall of 20 ms or more and keeps the latest 64 with their length, end time
 * and GC share, so reads that close together miss none.
 */
export interface WindowStalls {
  /** longestMs is the longest of them (0 when there was none). */
  readonly longestMs: number;
  /** longestGcMs is how much of that one garbage-collection pauses took. */
  readonly longestGcMs: number;
  /** longestCpuMs is the CPU the node used across that one (well below it: the node waited for a core). */
  readonly longestCpuMs: number;
  /** longestCpuWaitMs is how long the node's event loop waited for a CPU across that one (null: not said). */
  readonly longestCpuWaitMs: number | null;
  /**
   * longestOwnMs is the longest stall less the node's wait for a CPU across it (plus a tick, the
   * wait's span starting a tick earlier): at most what the node's own work and GC held its event
   * loop up, with the host's share taken out (null: not said).
   */
  readonly longestOwnMs: number | null;
  /** longestOwnAt is when that one ended (ISO 8601), or null. */
  readonly longestOwnAt: string | null;
  /**
   * ownest are the OWNEST_KEPT stalls with the largest own share, largest first (each as the node
   * listed it): their times find the work in a node's log or CPU profile (`--cpu-prof`).
   */
  readonly ownest: readonly Stall[];
  /** at is when that one ended (ISO 8601), or null. */
  readonly at: string | null;
  /**
   * totalMs, gcMs, gcMajorMs, cpuMs and cpuWaitMs add up the stalls read, the GC pauses within
   * them (and the major collections' part of those), the node's CPU across them and its event
   * loop's wait for a CPU across them (null: not said).
   */
  readonly totalMs: number;
  readonly gcMs: number;
  readonly gcMajorMs: number;
  readonly cpuMs: number;
  readonly cpuWaitMs: number | null;
  /** count is how many stalls of 20 ms or more the node saw in the window. */
  readonly count: number;
  /** complete is false when more came between two reads than the node keeps, so some were not read. */
  readonly complete: boolean;
}

/** OWNEST_KEPT is how many of a node's stalls with the largest own share the result lists. */
const OWNEST_KEPT = 8;

/** HEAP_SNAPSHOT_MS_MAX bounds how long one node may take to write its heap snapshot (--heap-snapshot). */
const HEAP_SNAPSHOT_MS_MAX = 300_000;

/** STALL_POLL_MS is how often the bench reads the nodes' stalls during the window. */
const STALL_POLL_MS = 5000;

/** Stall is one stall as /status lists it. */
interface Stall {
  readonly ms: number;
  readonly at: string;
  readonly gcMs: number;
  /** gcMajorMs is the major collections' part of gcMs (absent from nodes built before it). */
  readonly gcMajorMs?: number;
  readonly cpuMs: number;
  /** cpuWaitMs is null where the node's system does not say (and absent from nodes built before it). */
  readonly cpuWaitMs?: number | null;
}

/** StallView is what the bench reads of a node's /status eventLoopStall. */
interface StallView {
  readonly count: number;
  readonly recent: readonly Stall[];
}

/**
 * StallCollector gathers each node's stalls over the window from repeated reads. A node numbers
 * its stalls implicitly: its `recent` list holds those numbered count − length … count − 1, so
 * the reads join without overlap or guesswork (a later read's copy wins: its GC share is final).
 */
class StallCollector {
  private readonly first: number[] = [];
  private readonly last: number[] = [];
  private readonly seen: Array<Map<number, Stall>>;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly target: OmniRelayTarget) {
    this.seen = target.members.map(() => new Map<number, Stall>());
  }

  /** begin takes the first read and polls from then on. */
  async begin(): Promise<void> {
    const views = await this.read();
    views.forEach((v, i) => {
      this.first[i] = v.count;
      this.last[i] = v.count;
    });
    this.timer = setInterval(() => {
      this.reading = this.reading.then(async () => {
        this.note(await this.read().catch(() => []));
      });
    }, STALL_POLL_MS);
  }

  /** end takes the last read and says each node's stalls in the window, by member id. */
  async end(): Promise<Record<string, WindowStalls>> {
    clearInterval(this.timer);
    await this.reading;
    this.note(await this.read());
    const out: Record<string, WindowStalls> = {};
    this.target.members.forEach((m, i) => {
      const inside: Stall[] = [];
      for (let k = this.first[i]!; k < this.last[i]!; k++) {
        const s = this.seen[i]!.get(k);
        if (s !== undefined) inside.push(s);
      }
      const longest = inside.reduce<Stall | undefined>(
        (a, s) => (a === undefined || s.ms > a.ms ? s : a),
        undefined,
      );
      const count = this.last[i]! - this.first[i]!;
      const waitKnown = inside.every((s) => typeof s.cpuWaitMs === 'number');
      // The wait is counted from the tick before the stall: up to a tick of it can precede the
      // stall, so the own share is bounded by the stall plus a tick less the wait.
      const ownMs = (s: Stall): number =>
        Math.min(s.ms, Math.max(0, s.ms + RAFT_NODE_DEFAULTS.tickMs - (s.cpuWaitMs ?? 0)));
      const longestOwn = inside.reduce<Stall | undefined>(
        (a, s) => (a === undefined || ownMs(s) > ownMs(a) ? s : a),
        undefined,
      );
      out[m] = {
        longestMs: longest?.ms ?? 0,
        longestGcMs: longest?.gcMs ?? 0,
        longestCpuMs: longest?.cpuMs ?? 0,
        longestCpuWaitMs: waitKnown ? (longest?.cpuWaitMs ?? 0) : null,
        longestOwnMs: waitKnown ? (longestOwn === undefined ? 0 : ownMs(longestOwn)) : null,
        longestOwnAt: waitKnown ? (longestOwn?.at ?? null) : null,
        ownest: waitKnown ? [...inside].sort((a, b) => ownMs(b) - ownMs(a)).slice(0, OWNEST_KEPT) : [],
        at: longest?.at ?? null,
        totalMs: inside.reduce((a, s) => a + s.ms, 0),
        gcMs: inside.reduce((a, s) => a + s.gcMs, 0),
        gcMajorMs: inside.reduce((a, s) => a + (s.gcMajorMs ?? 0), 0),
        cpuMs: inside.reduce((a, s) => a + s.cpuMs, 0),
        cpuWaitMs: waitKnown ? inside.reduce((a, s) => a + (s.cpuWaitMs ?? 0), 0) : null,
        count,
        complete: inside.length === count,
      };
    });
    return out;
  }

  private note(views: readonly StallView[]): void {
    views.forEach((v, i) => {
      const firstListed = v.count - v.recent.length;
      v.recent.forEach((s, j) => {
        if (firstListed + j >= this.first[i]!) this.seen[i]!.set(firstListed + j, s);
      });
      this.last[i] = Math.max(this.last[i]!, v.count);
    });
  }

  private read(): Promise<StallView[]> {
    return Promise.all(
      this.target.members.map(async (m) => {
        const { body } = await withDeadline(
          this.target.httpGet(m, '/status'),
          HTTP_MS_MAX,
          `GET /status from ${m}`,
        );
        return (body as { eventLoopStall: StallView }).eventLoopStall;
      }),
    );
  }
}

/**
 * describeStalls says a node's window stalls in a few words: GC's part, the node's CPU across
 * them (each stall's CPU runs from the tick before it, so a busy stall shows about its length
 * plus a tick; far less means the node waited for a core) and its event loop's wait for a CPU.
 */
export function describeStalls(w: WindowStalls): string {
  if (w.count === 0) return 'none';
  const of = w.complete ? '' : ' (some not read: more than the node keeps came between two reads)';
  const waitAll = w.cpuWaitMs === null ? '' : `, waiting for a CPU ${w.cpuWaitMs} ms`;
  const waitLongest = w.longestCpuWaitMs === null ? '' : `, waiting for a CPU ${w.longestCpuWaitMs} ms`;
  return (
    `${w.count}, ${w.totalMs} ms in all (GC ${w.gcMs} ms, ${w.gcMajorMs} of it major, node CPU ${w.cpuMs} ms${waitAll})${of}; ` +
    `longest ${w.longestMs} ms (GC ${w.longestGcMs} ms, node CPU ${w.longestCpuMs} ms${waitLongest})`
  );
}

/** OmniRelayScaleResult is the OmniRelay half of bench/results/scale.json. */
export interface OmniRelayScaleResult {
  readonly fillMs: number;
  /** fillComplete is false when the fill ran past FILL_MS_MAX (then `held` is what was held by then). */
  readonly fillComplete: boolean;
  readonly held: number;
  /** heldAtEnd is what the clients held at the final check (acquires of an incomplete fill go on). */
  readonly heldAtEnd: number;
  readonly acquireFailed: number;
  readonly windowMs: number;
  /** nodes are the per-node CPU and RSS over the sustained window, by member id. */
  readonly nodes: Readonly<Record<string, ProcWindow>>;
  /**
   * loadGenerator is the bench process over the same window: the SDK clients' worker threads, the
   * watchers' and the bench's own thread, all competing with the nodes for the same cores.
   */
  readonly loadGenerator: ProcWindow | undefined;
  /** windowStalls are the per-node event-loop stalls within the sustained window, by member id. */
  readonly windowStalls: Readonly<Record<string, WindowStalls>>;
  readonly renewalMs: SampleSummary;
  readonly renewalsPerS: number;
  readonly renewalsRefused: number;
  readonly renewalsUnanswered: number;
  readonly watch: WatchResult;
  readonly transfer: {
    readonly from: string;
    readonly to: string;
    readonly callMs: number;
    /** gapMs is the wait from the transfer's answer to the kill. */
    readonly gapMs: number;
    /** lostByClients counts, by reason code, the leases lost at their clients before the kill (the fill's and the transfer's). */
    readonly lostByClients: Readonly<Record<string, number>>;
  };
  readonly kill: {
    readonly member: string;
    readonly newLeader: string;
    readonly leaderMs: number;
    readonly catchUpMs: number;
  };
  /** lostByClients counts, by reason code, leases whose signal aborted at their client (by the end). */
  readonly lostByClients: Readonly<Record<string, number>>;
  readonly after: readonly NodeFigures[];
  /**
   * terms are the leader's Raft term when the window began and when it ended: each step up is an
   * election (the planned transfer and the kill after it add one each; the nodes' `term` after).
   */
  readonly terms: { readonly windowStart: number; readonly windowEnd: number };
  /** phases are when each phase began (ISO 8601), to place the stalls. */
  readonly phases: Readonly<Record<string, string>>;
}

/** startWorker starts one lease worker; with `config.cpuProfDir` it writes a V8 CPU profile of its thread there on exit. */
function startWorker(data: LeaseWorkerData, config: ScaleConfig): Worker {
  const file = join(__dirname, 'lease-worker.ts');
  return new Worker(`require('@swc-node/register'); require(${JSON.stringify(file)});`, {
    eval: true,
    workerData: data,
    ...(config.cpuProfDir === undefined
      ? {}
      : { execArgv: cpuProfArgs(config.cpuProfDir, config.cpuProfIntervalUs) }),
  });
}

/** counterValue reads one Prometheus series' value (0 when absent). */
function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

function counterValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function nodeFigures(target: OmniRelayTarget, id: string, restarted: boolean): Promise<NodeFigures> {
  const { body } = await target.httpGet(id, '/status');
  const s = body as {
    role: string;
    term: number;
    eventLoopStall: { longestMs: number; at: string | null };
    lastCompaction: unknown;
    logBytes: number;
    leadership: { leases: number };
  };
  const metrics = String((await target.httpGet(id, '/metrics')).body);
  return {
    id,
    role: s.role,
    term: s.term,
    leases: s.leadership.leases,
    stallMsMax: s.eventLoopStall.longestMs,
    stallAt: s.eventLoopStall.at,
    lastCompaction: s.lastCompaction,
    expired: counterValue(metrics, 'mesh_leadership_transitions_total{reason="expired"}'),
    overlap: counterValue(metrics, 'mesh_leadership_split_brain_total{kind="overlap"}'),
    restarted,
    heapUsedBytes: counterValue(metrics, 'nodejs_heap_size_used_bytes'),
    rssBytes: counterValue(metrics, 'process_resident_memory_bytes'),
    externalBytes: counterValue(metrics, 'nodejs_external_memory_bytes'),
    logBytes: s.logBytes,
  };
}

/**
 * describeRecent merges the workers' RecentRenewals into one phrase: renewals since the previous
 * report and the slowest, the renewals left unanswered by a stream's end (by code), and the leases
 * lost grouped by their last renewal event with how long before the loss it was sent and how many
 * clients they came from (with how many clients lost everything they held so far).
 */
function describeRecent(reports: readonly ScaleWorkerReport[]): string {
  const recents = reports.map((r) => r.recent);
  let renewed = 0;
  let maxMs = 0;
  const unanswered: Record<string, UnansweredGroup> = {};
  const lostAfter: Record<string, LostGroup> = {};
  for (const r of recents) {
    renewed += r.renewed;
    maxMs = Math.max(maxMs, r.maxRenewalMs);
    for (const [code, g] of Object.entries(r.unanswered)) {
      const into = (unanswered[code] ??= { count: 0, waitedSumMs: 0, waitedMaxMs: 0 });
      into.count += g.count;
      into.waitedSumMs += g.waitedSumMs;
      into.waitedMaxMs = Math.max(into.waitedMaxMs, g.waitedMaxMs);
    }
    for (const [last, g] of Object.entries(r.lostAfter)) {
      const into = (lostAfter[last] ??= { count: 0, sentAgoMinMs: Infinity, sentAgoMaxMs: 0, clients: [] });
      into.count += g.count;
      into.clients.push(...g.clients.filter((c) => !into.clients.includes(c)));
      into.sentAgoMinMs = Math.min(into.sentAgoMinMs, g.sentAgoMinMs);
      into.sentAgoMaxMs = Math.max(into.sentAgoMaxMs, g.sentAgoMaxMs);
    }
  }
  const parts = [`since the last line ${renewed} renewed, slowest ${maxMs.toFixed(0)} ms`];
  const codes = Object.entries(unanswered);
  if (codes.length > 0) {
    const waited = (g: UnansweredGroup): string =>
      `waited ${(g.waitedSumMs / g.count).toFixed(0)} ms on average, at most ${g.waitedMaxMs.toFixed(0)}`;
    parts.push(`unanswered ${codes.map(([c, g]) => `${g.count} ${c} (${waited(g)})`).join(', ')}`);
  }
  const groups = Object.entries(lostAfter);
  if (groups.length > 0) {
    parts.push(
      `lost after their last ${groups.map(([last, g]) => `${last} (${g.count} of ${g.clients.length} clients, sent ${g.sentAgoMinMs}–${g.sentAgoMaxMs} ms before)`).join(', ')}` +
        `; clients that lost every lease they held so far: ${reports.reduce((n, r) => n + r.clientsAllLost, 0)}`,
    );
  }
  return parts.join('; ');
}

/** lostCounts adds up the workers' leases lost at their clients, by reason code. */
function lostCounts(reports: readonly ScaleWorkerReport[]): Record<string, number> {
  const lost: Record<string, number> = {};
  for (const r of reports) for (const [code, n] of Object.entries(r.lost)) lost[code] = (lost[code] ?? 0) + n;
  return lost;
}

/** termOf reads one node's Raft term from its /status. */
async function termOf(target: OmniRelayTarget, id: string): Promise<number> {
  const { body } = await withDeadline(target.httpGet(id, '/status'), HTTP_MS_MAX, `GET /status from ${id}`);
  return (body as { term: number }).term;
}

/** fillStatus is one node's line during the fill: role, term, longest stall and when, its renewal backlog and new leases refused (or why it did not answer). */
async function fillStatus(target: OmniRelayTarget, id: string): Promise<string> {
  try {
    const { body } = await withDeadline(target.httpGet(id, '/status'), HTTP_MS_MAX, `GET /status from ${id}`);
    const s = body as {
      role: string;
      term: number;
      eventLoopStall: { longestMs: number; at: string | null };
      admission?: { renewalLagMs: number; refusing: boolean; refusedTotal: number };
    };
    const at = s.eventLoopStall.at === null ? '' : ` at ${s.eventLoopStall.at.slice(11, 23)}`;
    const a = s.admission;
    const admission =
      a === undefined || (a.refusedTotal === 0 && a.renewalLagMs === 0)
        ? ''
        : ` renewal backlog ${a.renewalLagMs} ms${a.refusing ? ' (refusing new leases)' : ''}, ${a.refusedTotal} refused`;
    return `${id} ${s.role} term ${s.term} stall ${s.eventLoopStall.longestMs} ms${at}${admission}`;
  } catch (e) {
    return `${id} no status (${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * untilAdmitting waits (bounded) until `leader` no longer refuses new leases for its renewal
 * backlog (/status admission.refusing), saying so when it had to wait.
 */
async function untilAdmitting(target: OmniRelayTarget, leader: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    const { body } = await target.httpGet(leader, '/status');
    const admission = (body as { admission?: { refusing: boolean; renewalLagMs: number } }).admission;
    const waitedMs = performance.now() - started;
    if (admission?.refusing !== true) {
      if (waitedMs > ADMISSION_POLL_MS) {
        progress(`omnirelay: ${leader} admits new leases again after ${(waitedMs / 1000).toFixed(1)} s`);
      }
      return;
    }
    if (waitedMs > ADMISSION_SETTLE_MS_MAX) {
      throw new Error(
        `${leader} still refuses new leases ${ADMISSION_SETTLE_MS_MAX / 1000} s after the fill (renewal backlog ${admission.renewalLagMs} ms)`,
      );
    }
    await new Promise((r) => setTimeout(r, ADMISSION_POLL_MS));
  }
}

/** runOmniRelayScale runs the OmniRelay half; the cluster is stopped whatever happens. */
export async function runOmniRelayScale(config: ScaleConfig): Promise<OmniRelayScaleResult> {
  const target = new OmniRelayTarget({
    cpuProfDir: config.cpuProfDir,
    cpuProfIntervalUs: config.cpuProfIntervalUs,
    heapSnapshotDir: config.heapSnapshotDir,
    keepLogsDir: config.keepLogsDir,
    nodeArgs: config.nodeArgs,
    callMsMax: WRITE_MS_MAX,
  });
  const workers: Worker[] = [];
  const untrack = trackPids(() =>
    target.members.flatMap((m) => {
      try {
        const pid = target.pid(m);
        return pid === undefined ? [] : [pid];
      } catch {
        return [];
      }
    }),
  );
  const phases: Record<string, string> = {};
  const phase = (name: string): void => {
    phases[name] = new Date().toISOString();
  };
  try {
    phase('start');
    progress('omnirelay: starting a fresh 3-member cluster');
    await target.start();
    const endpoints = target.grpcEndpoints();
    const nodeNames = target.grpcNodeNames();
    const perClient = share(config.leases, config.clients);
    const clientsPerWorker = share(config.clients, config.leaseWorkers);
    let first = 0;
    for (const count of clientsPerWorker) {
      workers.push(
        startWorker(
          {
            endpoints,
            nodeNames,
            firstClient: first,
            leasesPerClient: perClient.slice(first, first + count),
            ttlMs: config.ttlMs,
            acquireConcurrency: config.acquireConcurrency,
          },
          config,
        ),
      );
      first += count;
    }
    progress(
      `omnirelay: ${config.clients} clients in ${workers.length} worker threads acquire ${config.leases} leases (TTL ${config.ttlMs} ms)`,
    );
    phase('fill');
    const fillStarted = performance.now();
    let filled: { held: number; failed: number }[];
    let fillComplete = true;
    // A long fill (minutes at 100,000 leases) says every FILL_PROGRESS_MS how far it got, and
    // whether leases already acquired are being lost (renewals not keeping up).
    const ticker = setInterval(() => {
      ask<ScaleWorkerReport>(workers, 'report', 'report', REPORT_MS_MAX).then(
        (now) => {
          const sum = (f: (r: ScaleWorkerReport) => number): number => now.reduce((a, r) => a + f(r), 0);
          const lost = sum((r) => Object.values(r.lost).reduce((a, b) => a + b, 0));
          progress(
            `omnirelay: fill ${((performance.now() - fillStarted) / 1000).toFixed(0)} s: ${sum((r) => r.held)} of ${config.leases} held, ${lost} lost, ${sum((r) => r.renewed)} renewals so far; ${describeRecent(now)}`,
          );
        },
        () => undefined,
      );
      // And each node's view: who leads at which term, and its longest stall so far (and when),
      // so a collapse can be traced to the node and moment that started it.
      void Promise.all(target.members.map((m) => fillStatus(target, m))).then((views) =>
        progress(`omnirelay: fill nodes: ${views.join('; ')}`),
      );
    }, FILL_PROGRESS_MS);
    ticker.unref();
    try {
      filled = await ask<{ held: number; failed: number }>(workers, '', 'held', FILL_MS_MAX);
    } catch (e) {
      fillComplete = false;
      progress(
        `omnirelay: ${e instanceof Error ? e.message : String(e)}; going on with the leases held so far`,
      );
      const now = await ask<ScaleWorkerReport>(workers, 'report', 'report', REPORT_MS_MAX);
      filled = now.map((r) => ({ held: r.held, failed: 0 }));
    }
    clearInterval(ticker);
    const fillMs = performance.now() - fillStarted;
    const held = filled.reduce((a, f) => a + f.held, 0);
    const acquireFailed = filled.reduce((a, f) => a + f.failed, 0);
    progress(
      `omnirelay: ${held} leases held in ${(fillMs / 1000).toFixed(1)} s (${acquireFailed} acquires failed)`,
    );

    // The sustained window: renewals go on by themselves; the watch probe writes pace it. A leader
    // that was refusing new leases at the end of the fill (admission control) would refuse the
    // watch workload's writes too: the window starts once it admits them again.
    const leader = await target.leader(LEADER_MS_MAX);
    await untilAdmitting(target, leader);
    const windowStartTerm = await termOf(target, leader);
    const pids = target.members.map((m) => target.pid(m)!);
    const sampler = new ProcSampler([...pids, process.pid]);
    // The window is the watch workload's measured writes: its 1,000 watchers are open and live
    // before it begins (their worker threads' start-up and the streams' opening would otherwise
    // land in it, on the same two cores), and are closed after it ends.
    let windowStarted = Number.NaN;
    let windowMs = Number.NaN;
    let windows: ProcWindow[] = [];
    let reports: ScaleWorkerReport[] = [];
    const stallCollector = new StallCollector(target);
    let stalls: Record<string, WindowStalls> = {};
    const writes = Math.max(1, Math.floor(config.durationMs / config.watchWriteGapMs));
    const watch = await runWatch(target, {
      watchers: config.watchers,
      workersMax: config.watchWorkers,
      writes,
      seenWaitMs: WATCH_SEEN_WAIT_MS,
      // The probe leases are released after the window, which lasts longer than --duration when
      // writes wait to be seen: none may expire before (each expiry counts against the run).
      ttlMs: Math.min(LEASE_TTL_MS_MAX, writes * (config.watchWriteGapMs + WATCH_SEEN_WAIT_MS) + 60_000),
      scopePrefix: 'scale-watch',
      writeGapMs: config.watchWriteGapMs,
      window: {
        begin: async () => {
          await stallCollector.begin();
          for (const w of workers) w.postMessage({ type: 'measure' });
          sampler.start();
          phase('window');
          windowStarted = performance.now();
        },
        end: async () => {
          windowMs = performance.now() - windowStarted;
          windows = sampler.stop();
          stalls = await stallCollector.end();
          reports = await ask<ScaleWorkerReport>(workers, 'report', 'report', REPORT_MS_MAX);
        },
      },
    });
    const renewalMs = summarizeMs(reports.flatMap((r) => r.renewalMs));
    const renewed = reports.reduce((a, r) => a + r.renewed, 0);
    const nodes: Record<string, ProcWindow> = {};
    target.members.forEach((m, i) => {
      const w = windows.find((x) => x.pid === pids[i]);
      if (w !== undefined) nodes[m] = w;
    });
    const loadGenerator = windows.find((x) => x.pid === process.pid);
    progress(
      `omnirelay: window ${(windowMs / 1000).toFixed(1)} s (leader ${leader}): renewals ${(renewed / (windowMs / 1000)).toFixed(0)}/s p50 ${renewalMs.p50.toFixed(1)} ms p99 ${renewalMs.p99.toFixed(1)} ms; ` +
        formatWindows(nodes) +
        (loadGenerator === undefined
          ? ''
          : `; load generator (this process) CPU ${loadGenerator.cpuPercent.toFixed(0)}%`) +
        `; stalls of 20 ms or more in the window: ${target.members.map((m) => `${m} ${describeStalls(stalls[m]!)}`).join(', ')}`,
    );
    // What happened to renewals since the fill's last line, the window included: leases lost there
    // (grouped by their last renewal event) showed nowhere before (the 11:11 run of 2026-12-06).
    progress(
      `omnirelay: renewals from the fill's last line to the window's end: ${describeRecent(reports)}; ` +
        `lost at the clients so far: ${JSON.stringify(lostCounts(reports))}`,
    );
    if (config.heapSnapshotDir !== undefined) {
      // What each node's heap holds at 100,000 leases; a node writing one answers nothing for
      // seconds, so what the faults below lose is not comparable with a run without.
      progress('omnirelay: every node writes a heap snapshot (each stops for seconds)');
      await target.heapSnapshots(HEAP_SNAPSHOT_MS_MAX);
    }

    // A planned transfer, then a kill -9 of the leader, under the same load.
    const from = await target.leader(LEADER_MS_MAX);
    const windowEndTerm = await termOf(target, from);
    const to = target.members[(target.members.indexOf(from) + 1) % target.members.length]!;
    phase('transfer');
    const transferStarted = performance.now();
    await target.transferLeadership(from, to);
    const transferMs = performance.now() - transferStarted;
    progress(`omnirelay: transfer ${from} → ${to} answered in ${transferMs.toFixed(0)} ms`);
    // The kill comes once the transfer's losses, if any, have shown (config.faultGapMs, one TTL
    // and 2 s by default), so that each fault is counted on its own.
    await sleep(config.faultGapMs);
    const afterTransfer = await ask<ScaleWorkerReport>(workers, 'report', 'report', REPORT_MS_MAX);
    const lostInTransfer = lostCounts(afterTransfer);
    progress(
      `omnirelay: renewals from the window's end to the kill (${(config.faultGapMs / 1000).toFixed(1)} s after the transfer): ` +
        `${describeRecent(afterTransfer)}; lost at the clients so far: ${JSON.stringify(lostInTransfer)}`,
    );
    const victim = await target.leader(LEADER_MS_MAX);
    phase('kill');
    const killedAt = performance.now();
    await target.kill(victim);
    const newLeader = await target.leader(LEADER_MS_MAX);
    const leaderMs = performance.now() - killedAt;
    const restartAt = performance.now();
    await target.restart(victim, CATCH_UP_MS_MAX);
    const catchUpMs = performance.now() - restartAt;
    progress(
      `omnirelay: killed ${victim}; ${newLeader} leads after ${leaderMs.toFixed(0)} ms; ${victim} caught up ${(catchUpMs / 1000).toFixed(1)} s after its restart`,
    );
    // One more TTL: a lease whose renewals the faults cut off would have expired by now.
    phase('settle');
    await sleep(config.ttlMs + 2000);
    phase('check');
    const final = await ask<ScaleWorkerReport>(workers, 'report', 'report', REPORT_MS_MAX);
    progress(`omnirelay: renewals from the kill to now: ${describeRecent(final)}`);
    const lostByClients = lostCounts(final);
    const after: NodeFigures[] = [];
    for (const m of target.members) after.push(await nodeFigures(target, m, m === victim));
    progress(
      `omnirelay: after the faults: ` +
        after
          .map(
            (n) =>
              `${n.id} ${n.leases} leases, ${n.expired} expired, stall max ${n.stallMsMax.toFixed(0)} ms, ` +
              `heap used ${mib(n.heapUsedBytes)}, external ${mib(n.externalBytes)} (Raft log ${mib(n.logBytes)}) ` +
              `of RSS ${mib(n.rssBytes)} MiB`,
          )
          .join('; ') +
        `; lost at the clients: ${JSON.stringify(lostByClients)}`,
    );
    return {
      fillMs,
      fillComplete,
      held,
      heldAtEnd: final.reduce((a, r) => a + r.held, 0),
      acquireFailed,
      windowMs,
      nodes,
      loadGenerator,
      terms: { windowStart: windowStartTerm, windowEnd: windowEndTerm },
      windowStalls: stalls,
      renewalMs,
      renewalsPerS: renewed / (windowMs / 1000),
      renewalsRefused: reports.reduce((a, r) => a + r.refused, 0),
      renewalsUnanswered: reports.reduce((a, r) => a + r.unanswered, 0),
      watch,
      transfer: { from, to, callMs: transferMs, gapMs: config.faultGapMs, lostByClients: lostInTransfer },
      kill: { member: victim, newLeader, leaderMs, catchUpMs },
      lostByClients,
      after,
      phases,
    };
  } finally {
    await Promise.all(
      workers.map(async (w) => {
        const exited = new Promise<void>((r) => w.once('exit', () => r()));
        w.postMessage({ type: 'stop' });
        await Promise.race([exited, sleep(WORKER_STOP_MS_MAX)]);
        await w.terminate();
      }),
    );
    await target.stop();
    untrack();
  }
}
