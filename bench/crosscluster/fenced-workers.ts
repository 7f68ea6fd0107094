/**
 * FencedWorkers: the client side of the failover phases. Each worker has its own SDK client that
 * follows the pair (`createClient({ clusters: [a, b] })`) and a LeaderElector on one scope; while
 * its lease is valid it "writes" every WRITE_EVERY_MS through one FenceGuard shared by all workers
 * (the downstream resource). Every grant, lease end and write is recorded with its time
 * (sharedNowMs), so the disruption of a failover can be read afterwards.
 */
import type { Lease, StoppedReason } from '@omnirelay/client-sdk';
import { FenceGuard, LeaderElector, createClient, isOmniRelayError } from '@omnirelay/client-sdk';
import type { LocalCluster } from '@omnirelay/server';
import { grpcEndpoints } from '@omnirelay/server';
import { sharedNowMs } from '../compare/time';

/** WRITE_EVERY_MS is how often a worker that believes it leads writes through the guard. */
const WRITE_EVERY_MS = 20;
/** CLUSTER_CHECK_MS is the workers' clusterCheckMs: how often a client asks whether its cluster is still active. */
export const CLUSTER_CHECK_MS = 500;
/** WORKER_CALL_MS_MAX is the workers' SDK per-call deadline. */
const WORKER_CALL_MS_MAX = 3000;

/** WorkerRecord is one thing a worker did or saw. */
export type WorkerRecord =
  | { readonly kind: 'granted'; readonly atMs: number; readonly worker: string; readonly fence: bigint }
  | {
      readonly kind: 'stopped';
      readonly atMs: number;
      readonly worker: string;
      readonly reason: StoppedReason;
    }
  | {
      readonly kind: 'write';
      readonly atMs: number;
      readonly worker: string;
      readonly fence: bigint;
      readonly admitted: boolean;
    };

/** FencedWorkers runs `count` workers on `scope` against the pair {a, b}; see the file comment. */
export class FencedWorkers {
  readonly records: WorkerRecord[] = [];
  private readonly guard = new FenceGuard();
  private readonly running: { elector: LeaderElector; close(): void; timer: NodeJS.Timeout }[] = [];
  private stopping: Promise<void> | undefined;

  constructor(a: LocalCluster, b: LocalCluster, scope: string, ttlMs: number, count: number) {
    for (let i = 1; i <= count; i++) {
      const worker = `w${i}`;
      const client = createClient({
        clusters: [
          { id: 'a', endpoints: grpcEndpoints(a) },
          { id: 'b', endpoints: grpcEndpoints(b) },
        ],
        candidateId: worker,
        callTimeoutMs: WORKER_CALL_MS_MAX,
        clusterCheckMs: CLUSTER_CHECK_MS,
      });
      let lease: Lease | undefined;
      const elector = new LeaderElector(client, {
        scope,
        ttlMs,
        onStartedLeading: (l) => {
          lease = l;
          this.records.push({ kind: 'granted', atMs: sharedNowMs(), worker, fence: l.fence });
        },
        onStoppedLeading: (reason) =>
          this.records.push({ kind: 'stopped', atMs: sharedNowMs(), worker, reason }),
      }).start();
      const timer = setInterval(() => {
        if (lease === undefined || !lease.isValid()) return;
        let admitted = true;
        try {
          this.guard.admit(scope, lease.fence);
        } catch (e) {
          if (!isOmniRelayError(e, 'STALE_FENCE')) throw e;
          admitted = false;
        }
        this.records.push({ kind: 'write', atMs: sharedNowMs(), worker, fence: lease.fence, admitted });
      }, WRITE_EVERY_MS);
      this.running.push({ elector, close: () => client.close(), timer });
    }
  }

  /** firstGrant is the first grant with a fence of at least `fenceMin`, if any yet. */
  firstGrant(fenceMin: bigint): Extract<WorkerRecord, { kind: 'granted' }> | undefined {
    return this.records.find(
      (r): r is Extract<WorkerRecord, { kind: 'granted' }> => r.kind === 'granted' && r.fence >= fenceMin,
    );
  }

  /** stop stops every elector (resigning what it holds) and closes every client; once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const w of this.running) clearInterval(w.timer);
      await Promise.all(this.running.map((w) => w.elector.stop().catch(() => undefined)));
      for (const w of this.running) w.close();
    })();
    return this.stopping;
  }
}

/** Disruption is what the workers saw around one failover, measured from `fromMs` (the command or the kill). */
export interface Disruption {
  /** firstGrantMs: from `fromMs` to the first grant on the new active (a fence ≥ fenceMin). */
  readonly firstGrantMs: number;
  /** holderGapMs: the last old-active lease's end → the first new-active grant (negative: they overlapped at the clients). */
  readonly holderGapMs: number;
  /** writeGapMs: the last write admitted with an old fence → the first admitted with a new one. */
  readonly writeGapMs: number;
  /** staleRefused counts writes the guard refused (an old fence after it had seen a new one). */
  readonly staleRefused: number;
  /** oldAdmittedAfterNewGrant counts writes admitted with an old fence after the new active's first grant. */
  readonly oldAdmittedAfterNewGrant: number;
  /** oldAdmittedAfterNewAdmitted counts old fences admitted after the guard saw a new one (must be 0). */
  readonly oldAdmittedAfterNewAdmitted: number;
  /** stopReasons are the reasons the old leases ended, in order. */
  readonly stopReasons: readonly string[];
}

/** disruptionOf reads a Disruption out of the records; undefined when no new grant happened. */
export function disruptionOf(
  records: readonly WorkerRecord[],
  fromMs: number,
  fenceMin: bigint,
): Disruption | undefined {
  const first = records.find((r) => r.kind === 'granted' && r.fence >= fenceMin);
  if (first === undefined) return undefined;
  const writes = records.filter((r): r is Extract<WorkerRecord, { kind: 'write' }> => r.kind === 'write');
  const admittedOld = writes.filter((w) => w.admitted && w.fence < fenceMin);
  const firstNewWrite = writes.find((w) => w.admitted && w.fence >= fenceMin);
  const stops = records.filter(
    (r): r is Extract<WorkerRecord, { kind: 'stopped' }> => r.kind === 'stopped' && r.atMs >= fromMs,
  );
  // The old holder is the last grant before fromMs; its lease ends at its worker's next stop.
  const oldHolder = records.filter((r) => r.kind === 'granted' && r.atMs < fromMs).at(-1);
  const oldEnd = stops.find((s) => s.worker === oldHolder?.worker)?.atMs ?? Number.NaN;
  return {
    firstGrantMs: first.atMs - fromMs,
    holderGapMs: first.atMs - oldEnd,
    writeGapMs:
      firstNewWrite === undefined || admittedOld.length === 0
        ? Number.NaN
        : firstNewWrite.atMs - admittedOld.at(-1)!.atMs,
    staleRefused: writes.filter((w) => !w.admitted).length,
    oldAdmittedAfterNewGrant: admittedOld.filter((w) => w.atMs > first.atMs).length,
    oldAdmittedAfterNewAdmitted:
      firstNewWrite === undefined ? 0 : admittedOld.filter((w) => w.atMs > firstNewWrite.atMs).length,
    stopReasons: stops.map((s) => `${s.worker}:${s.reason}`),
  };
}
