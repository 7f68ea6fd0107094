/**
 * deadline-index-ab compares the deadline index of an earlier commit with this tree's, in one
 * process and interleaved step by step (each step runs both, in alternating order), so the shared
 * machine's noise falls on both alike. The workload is the leader's, as fsm-bench's due scan
 * (due-scan-workload.ts): 100,000 leases, renewed in batches, a due scan after each batch that
 * finds none due but re-keys the renewed leases whose old deadlines came up, the caches swept
 * before each scan. Prints each index's scan time per second of workload and the ratio. Then a
 * new leader's first calls: an index filled and renewed as a follower's (never asked, so every
 * renewed lease is lazy), then asked for due leases every 10 ms for a second, as a new leader's
 * expiry timer does: the total and the longest call of each, two takes each, alternating. Writes
 * nothing.
 *
 *   node -r @swc-node/register bench/fsm/deadline-index-ab.ts REV   (REV: the commit to compare with)
 */
import { DeadlineIndex } from '../../packages/leadership-fsm/src/deadline-index';
import { requireAtRevision } from '../support/at-revision';
import { ColdSweep, DUE_RENEW_EVERY_MS, dueScanSteps } from './due-scan-workload';

const LEASES = 100_000;
const TTL_MS = 10_000;
const WORKLOAD_MS = 40_000;

/** Index is what the workload uses of either version. */
interface Index {
  pushAt(scope: string, fenceToken: bigint, deadlineMs: number): void;
  due(nowMs: number, limit: number, isLive: (e: { scope: string; deadlineMs: number }) => boolean): unknown[];
}

/** Subject is one index with its model of the live deadlines and its scan time so far. */
interface Subject {
  readonly index: Index;
  readonly deadlines: Float64Array;
  readonly isLive: (e: { scope: string; deadlineMs: number }) => boolean;
  scanMs: number;
}

const rev = process.argv[2];
if (rev === undefined) {
  console.error('usage: node -r @swc-node/register bench/fsm/deadline-index-ab.ts REV');
  process.exit(2);
}
const Old = requireAtRevision<{ DeadlineIndex: new () => Index }>(
  rev,
  'packages/leadership-fsm/src/deadline-index.ts',
).DeadlineIndex;
const scopes = Array.from({ length: LEASES }, (_, i) => `scale/c${i % 100}/${Math.floor(i / 100)}`);
const byScope = new Map(scopes.map((s, i) => [s, i]));
const subject = (index: Index): Subject => {
  const deadlines = new Float64Array(LEASES);
  for (let i = 0; i < LEASES; i++) {
    deadlines[i] = TTL_MS + (i % DUE_RENEW_EVERY_MS);
    index.pushAt(scopes[i]!, 1n, deadlines[i]!);
  }
  return { index, deadlines, isLive: (e) => deadlines[byScope.get(e.scope)!] === e.deadlineMs, scanMs: 0 };
};
const old = subject(new Old());
const now = subject(new DeadlineIndex());
const cold = new ColdSweep();
let step = 0;
for (const { tMs, renewed } of dueScanSteps(LEASES, WORKLOAD_MS)) {
  for (const s of step++ % 2 === 0 ? [old, now] : [now, old]) {
    for (const i of renewed) {
      s.deadlines[i] = tMs + TTL_MS;
      s.index.pushAt(scopes[i]!, 1n, tMs + TTL_MS);
    }
    cold.sweep();
    const began = performance.now();
    s.index.due(tMs, 4_096, s.isLive);
    s.scanMs += performance.now() - began;
  }
}
const perSecond = (s: Subject): string => (s.scanMs / (WORKLOAD_MS / 1000)).toFixed(1);
console.log(
  `due scans at ${LEASES} leases: ${rev} ${perSecond(old)} ms/s, this tree ${perSecond(now)} ms/s, ` +
    `ratio ${(now.scanMs / old.scanMs).toFixed(2)}`,
);
const takes = [Old, DeadlineIndex, Old, DeadlineIndex].map((Made) =>
  newLeaderCalls(new Made(), scopes, byScope),
);
const show = (t: { totalMs: number; longestMs: number }): string =>
  `${t.totalMs.toFixed(1)} ms (longest ${t.longestMs.toFixed(1)})`;
console.log(
  `a new leader's first 100 due calls at ${LEASES} leases: ${rev} ${show(takes[0]!)}, ${show(takes[2]!)}; ` +
    `this tree ${show(takes[1]!)}, ${show(takes[3]!)}`,
);

/**
 * newLeaderCalls fills `index` as a follower's: leases granted over 60 s, each renewed every 3.3 s
 * until 90 s, the index never asked. Then it times 100 due calls, one per 10 ms of lease time from
 * 90 s, as a new leader's expiry timer makes them.
 */
function newLeaderCalls(
  index: Index,
  scopes: readonly string[],
  byScope: ReadonlyMap<string, number>,
): { totalMs: number; longestMs: number } {
  const deadlines = new Float64Array(LEASES);
  const renewAt = new Float64Array(LEASES);
  for (let i = 0; i < LEASES; i++) {
    renewAt[i] = (i * 60_000) / LEASES;
    deadlines[i] = renewAt[i]! + TTL_MS;
    index.pushAt(scopes[i]!, 1n, deadlines[i]!);
  }
  for (let tMs = 0; tMs <= 90_000; tMs += 100) {
    for (let i = 0; i < LEASES; i++) {
      if (renewAt[i]! + 3_300 > tMs) continue;
      renewAt[i] = tMs;
      deadlines[i] = tMs + TTL_MS;
      index.pushAt(scopes[i]!, 1n, deadlines[i]!);
    }
  }
  const isLive = (e: { scope: string; deadlineMs: number }): boolean =>
    deadlines[byScope.get(e.scope)!] === e.deadlineMs;
  let totalMs = 0;
  let longestMs = 0;
  for (let tMs = 90_000; tMs < 91_000; tMs += 10) {
    const began = performance.now();
    index.due(tMs, 4_096, isLive);
    const ms = performance.now() - began;
    totalMs += ms;
    longestMs = Math.max(longestMs, ms);
  }
  return { totalMs, longestMs };
}
