import type { Registry } from 'prom-client';
import { Gauge } from 'prom-client';
import type { LeadershipStateMachine } from '../leadership/leadership-state-machine';
import type { WatchHub } from '../leadership/watch-hub';

/**
 * registerStateGauges registers the gauges of what this replica holds: leases, scopes, waiting
 * candidates (from the state machine's counters), watchers and the newest revision (from the
 * watch hub). Each is read by a collect() callback at scrape time, never updated per request.
 * `isActive` turns them off once the metrics are stopped (the gauges keep their last values).
 */
export function registerStateGauges(
  registry: Registry,
  stateMachine: LeadershipStateMachine,
  hub: WatchHub,
  isActive: () => boolean,
): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (isActive()) this.set(read());
      },
    });
  };
  // `stateMachine.fsm` is read at each scrape: a snapshot restore replaces it.
  gauge(
    'omnirelay_leases',
    'Leases held on this replica, one per held scope (count; a lease past its deadline counts until an Expire entry ends it).',
    () => stateMachine.fsm.stats().leaseCount,
  );
  gauge(
    'omnirelay_scopes',
    'Scopes the state machine on this replica knows, held or not (count).',
    () => stateMachine.fsm.stats().scopeCount,
  );
  gauge(
    'omnirelay_waiting_candidates',
    'Candidates queued behind a holder, summed over every scope on this replica (count).',
    () => stateMachine.fsm.stats().waitingCount,
  );
  gauge(
    'omnirelay_watchers',
    'Live watch streams (SSE and gRPC) registered on this node (count).',
    () => hub.watcherCount,
  );
  gauge(
    'omnirelay_revision',
    'Newest revision (Raft index of an applied entry) this replica published to watchers (revision number).',
    () => hub.currentRevision,
  );
}
