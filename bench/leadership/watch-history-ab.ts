/**
 * watch-history-ab compares the WatchHub of an earlier commit with this tree's, in one process: for
 * each, a full history of 100,000 one-grant revisions (the default bound, as at 100,000 leases),
 * published as a node's apply publishes them: each event decoded from msgpack just before (its
 * strings are what a decoded entry's are, slices of one extracted string where msgpackr's native
 * extraction makes them). Reported per hub: the heap the history keeps (heap used after a full
 * collection, less before), the time per publish, and the time a watch resuming from the oldest
 * revision takes to replay, under a prefix that matches every revision and under one that
 * matches none. Runs alternate (old, new, new, old) so the shared machine's noise falls on both.
 * Writes nothing.
 *
 *   node --expose-gc -r @swc-node/register bench/leadership/watch-history-ab.ts REV [REVISIONS]
 */
import type { LeadershipEvent } from '../../packages/leadership-fsm/src';
import { decodeEvents, encodeEvents } from '../../packages/leadership-fsm/src';
import type { RevisionEvents, WatchSink } from '../../packages/server/src/leadership/watch-hub';
import { WatchHub } from '../../packages/server/src/leadership/watch-hub';
import { requireAtRevision } from '../support/at-revision';

interface Hub {
  publish(revision: number, events: readonly LeadershipEvent[]): void;
  watch(prefix: string, fromRevision: number | undefined, sink: WatchSink): { cancel(): void };
}
type HubClass = new (historyEventsMax: number) => Hub;

const rev = process.argv[2];
const revisions = Number(process.argv[3] ?? 100_000);
if (rev === undefined || !Number.isInteger(revisions) || revisions < 1) {
  console.error(
    'usage: node --expose-gc -r @swc-node/register bench/leadership/watch-history-ab.ts REV [REVISIONS]',
  );
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const Old = requireAtRevision<{ WatchHub: HubClass }>(
  rev,
  'packages/server/src/leadership/watch-hub.ts',
).WatchHub;

/** grantBytes is revision r's grant event as msgpack (a fresh lease of its own scope, client r % 100). */
function grantBytes(r: number): Uint8Array {
  const scope = `scale/c${r % 100}/${r}`;
  const event: LeadershipEvent = {
    revision: r,
    scope,
    scopeTerm: 1,
    reason: 'granted',
    previousHolder: null,
    holder: {
      scope,
      candidateId: `scale-${r % 100}`,
      sessionId: `0b6f${String(r % 100).padStart(4, '0')}-1c2d-4e5f-8a9b-0c1d2e3f4a5b`,
      metadata: '',
      scopeTerm: 1,
      fenceToken: BigInt(r),
      leaseTtlMs: 10_000,
      deadlineMs: 1_765_000_010_000 + r,
      lastRenewalStampMs: 1_765_000_000_000 + r,
      grantedStampMs: 1_765_000_000_000 + r,
      revision: r,
    },
    correlationId: `acquire-${r.toString(16).padStart(8, '0')}-7d1e-4c2b-9a8f-3e2d1c0b9a87`,
    raftTerm: 1,
    proposerId: 'n1',
    stampMs: 1_765_000_000_000 + r,
    principal: '',
  };
  return encodeEvents([event]);
}

const counting = (): { sink: WatchSink; count: () => number } => {
  let n = 0;
  return {
    count: () => n,
    sink: {
      deliver: (batch: RevisionEvents) => {
        n += batch.events.length;
        return true;
      },
      close: () => undefined,
    },
  };
};

interface Figures {
  readonly heapMiB: number;
  readonly publishUs: number;
  readonly replayAllMs: number;
  readonly replayNoneMs: number;
}

function measure(HubOf: HubClass, bytes: readonly Uint8Array[]): Figures {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const hub = new HubOf(revisions);
  const began = performance.now();
  for (let r = 1; r <= revisions; r++) hub.publish(r, decodeEvents(bytes[r - 1]!));
  const publishUs = ((performance.now() - began) * 1000) / revisions;
  gc!();
  const heapMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  const all = counting();
  let t = performance.now();
  hub.watch('scale/', 1, all.sink).cancel();
  const replayAllMs = performance.now() - t;
  if (all.count() !== revisions) throw new Error(`replayed ${all.count()} events, expected ${revisions}`);
  const none = counting();
  t = performance.now();
  hub.watch('billing/', 1, none.sink).cancel();
  const replayNoneMs = performance.now() - t;
  if (none.count() !== 0) throw new Error(`replayed ${none.count()} events under billing/, expected 0`);
  return { heapMiB, publishUs, replayAllMs, replayNoneMs };
}

const bytes = Array.from({ length: revisions }, (_, i) => grantBytes(i + 1));
const results: Record<'old' | 'new', Figures[]> = { old: [], new: [] };
for (const which of ['old', 'new', 'new', 'old'] as const) {
  results[which].push(measure(which === 'old' ? Old : WatchHub, bytes));
}
const f = (xs: readonly number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
const row = (name: string, pick: (x: Figures) => number): string =>
  `| ${name} | ${f(results.old.map(pick))} | ${f(results.new.map(pick))} |`;
console.log(`WatchHub history of ${revisions} one-grant revisions: ${rev} against this tree (two runs each)`);
console.log(`| figure | ${rev} | this tree |`);
console.log('|---|---|---|');
console.log(row('heap kept by the history, MiB', (x) => x.heapMiB));
console.log(row('publish, µs per revision (decode included)', (x) => x.publishUs));
console.log(row('resume from the oldest, prefix matching all, ms', (x) => x.replayAllMs));
console.log(row('resume from the oldest, prefix matching none, ms', (x) => x.replayNoneMs));
