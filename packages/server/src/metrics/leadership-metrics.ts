import type { ApplyResult, HolderChangeReason, LeaseView } from '@omnirelay/leadership-fsm';
import { LIST_PAGE_SIZE_MAX } from '@omnirelay/leadership-fsm';
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { LeadershipStateMachine } from '../leadership/leadership-state-machine';
import type { LedgerAnomaly } from './holder-ledger';
import { HolderLedger, LEASES_TRACKED_MAX } from './holder-ledger';
import { ScopeChurn } from './scope-churn';

/** FenceCheckKind names the request whose fence was refused as stale (`fenceRejected`). */
export type FenceCheckKind = 'validate' | 'resign' | 'renew' | 'stepDown';

/** SplitBrainKind is the `kind` label of mesh_leadership_split_brain_total: a fixed set of six. */
export type SplitBrainKind = FenceCheckKind | LedgerAnomaly;

/** REASONS lists every holder-change reason; the Record type makes a new reason a compile error here. */
const REASONS = Object.keys({
  granted: true,
  resigned: true,
  expired: true,
  steppedDown: true,
  preempted: true,
} satisfies Record<HolderChangeReason, true>) as HolderChangeReason[];

/** SPLIT_BRAIN_KINDS lists every `kind` label value, checked the same way. */
const SPLIT_BRAIN_KINDS = Object.keys({
  validate: true,
  resign: true,
  renew: true,
  stepDown: true,
  overlap: true,
  fenceRegression: true,
} satisfies Record<SplitBrainKind, true>) as SplitBrainKind[];

/**
 * LEADERSHIP_ELECTION_BUCKETS_MS are the bucket bounds of mesh_leadership_election_duration_ms:
 * 10 ms (a waiter promoted at once) to 60 s (a lease TTL-scale expiry delay).
 */
export const LEADERSHIP_ELECTION_BUCKETS_MS: readonly number[] = [
  10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
];

/** LeadershipMetrics is the holder-change side of the server's metrics. */
export interface LeadershipMetrics {
  /** fenceRejected counts a stale fence presented to a `kind` request (split-brain evidence). */
  fenceRejected(kind: FenceCheckKind): void;
  /** stop makes the applied and restored listeners and `fenceRejected` inert (the state machine cannot remove listeners). */
  stop(): void;
}

/**
 * registerLeadershipMetrics registers the mesh_leadership_* metrics in `registry` and feeds
 * them from every entry `stateMachine` applies on this replica (leader and followers alike, so
 * every replica reports the same counts for the same log). Labels are the event reason and the
 * split-brain kind only: never a scope or a candidate, whose number is unbounded.
 */
export function registerLeadershipMetrics(
  registry: Registry,
  stateMachine: LeadershipStateMachine,
): LeadershipMetrics {
  const transitions = new Counter<'reason'>({
    name: 'mesh_leadership_transitions_total',
    help:
      'Holder changes applied on this replica, one per holder-change event (count), by reason: ' +
      'granted, resigned, expired, steppedDown or preempted.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const electionDuration = new Histogram({
    name: 'mesh_leadership_election_duration_ms',
    help:
      'Time a scope went without a holder, in milliseconds of entry stamps (the leader-stamped ' +
      'time of the Raft entries, the same on every replica): from the previous holder losing the ' +
      'scope (the resign or step-down entry, or the expired lease deadline) to the entry that ' +
      'granted it to a new holder. 0 when a waiter was promoted in the same entry. Not observed ' +
      'for preemptions, first grants of never-held scopes, or losses before this process started.',
    buckets: [...LEADERSHIP_ELECTION_BUCKETS_MS],
    registers: [registry],
  });
  const splitBrain = new Counter<'kind'>({
    name: 'mesh_leadership_split_brain_total',
    help:
      'Evidence of two holders at once (count), by kind: a stale fence presented to validate, ' +
      'resign, renew or stepDown; or, canaries that must stay 0, an applied event naming a new ' +
      'holder while a different lease of the scope was still recorded (overlap) or with a fence ' +
      'not above the previous one (fenceRegression).',
    labelNames: ['kind'],
    registers: [registry],
  });

  // Holder changes per scope are timed with this process's monotonic clock: the gauge answers
  // "right now", which entry stamps (they only move when entries are applied) cannot.
  const churn = new ScopeChurn();
  let churnMax = 0;
  new Gauge({
    name: 'omnirelay_scope_holder_changes_max',
    help:
      'The most holder changes any one scope had on this replica in the last 5 minutes (count; ' +
      'one per holder-change event). One series whatever the number of scopes: find the scope ' +
      'in the audit events or by the highest `term` in ListLeaders.',
    registers: [registry],
    collect() {
      if (active) churnMax = churn.maxChanges(performance.now());
      this.set(churnMax);
    },
  });

  // Every series exists from the start at 0, so rate() and `> 0` alerts work before the first event.
  for (const reason of REASONS) transitions.inc({ reason }, 0);
  for (const kind of SPLIT_BRAIN_KINDS) splitBrain.inc({ kind }, 0);

  const ledger = new HolderLedger();
  for (const page of holderPages(stateMachine, LEASES_TRACKED_MAX)) ledger.track(page);
  let active = true;

  // After a restore the mirror is seeded a page per event-loop turn: 100,000 leases at once held
  // the loop 60-90 ms, on top of the restore's last slice. Until a scope's page is read the
  // scope is untracked, which the canary skips (never a false alarm); each page reads the state
  // as it is then, so events applied in between are never undone. A newer restore starts over.
  let seeding = 0;
  stateMachine.onRestored(() => {
    if (!active) return;
    const generation = ++seeding;
    ledger.reset([]);
    const pages = holderPages(stateMachine, LEASES_TRACKED_MAX);
    const seedPage = (): void => {
      if (!active || generation !== seeding) return;
      const page = pages.next();
      if (page.done === true) return;
      ledger.track(page.value);
      if (ledger.trackedLeaseCount < LEASES_TRACKED_MAX) setImmediate(seedPage);
    };
    seedPage();
  });
  stateMachine.onApplied((result: ApplyResult) => {
    if (!active || !result.ok) return;
    const outcome = result.outcome;
    if (outcome.type === 'renew') {
      for (const item of outcome.leases) {
        if (item.renewed) ledger.renewed(item.scope, item.fenceToken, item.deadlineMs);
      }
    } else if (outcome.type === 'grace') {
      ledger.graced(outcome.graceDeadlineMs);
    }
    const nowMs = performance.now();
    for (const e of result.events) {
      transitions.inc({ reason: e.reason });
      churn.record(e.scope, nowMs);
      const verdict = ledger.record(e);
      if (verdict.electionDurationMs !== undefined) electionDuration.observe(verdict.electionDurationMs);
      for (const kind of verdict.anomalies) splitBrain.inc({ kind });
    }
  });

  return {
    fenceRejected: (kind) => {
      if (active) splitBrain.inc({ kind });
    },
    stop: () => {
      active = false;
    },
  };
}

/**
 * holderPages lists up to `limit` held leases of `stateMachine`, one page of the FSM per step:
 * each page is read from the state as it is when the step is taken (never a kept reference to
 * an FSM a restore replaced), so start-up can drain it at once and a reseed can take a page per
 * event-loop turn. The loop is bounded by the pages `limit` needs, plus one.
 */
function* holderPages(
  stateMachine: Pick<LeadershipStateMachine, 'fsm'>,
  limit: number,
): Generator<readonly LeaseView[]> {
  const pagesMax = Math.ceil(limit / LIST_PAGE_SIZE_MAX) + 1;
  let pageToken: string | null = null;
  let listed = 0;
  for (let pages = 0; pages < pagesMax && listed < limit; pages++) {
    const page = stateMachine.fsm.listHolders(
      pageToken === null ? { limit: LIST_PAGE_SIZE_MAX } : { limit: LIST_PAGE_SIZE_MAX, pageToken },
    );
    const holders = page.holders.slice(0, limit - listed);
    listed += holders.length;
    yield holders;
    pageToken = page.nextPageToken;
    if (pageToken === null) return;
  }
}
