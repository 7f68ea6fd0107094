import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Replicator } from './replicator';
import { REPLICATION_STATUSES } from './replicator';

/**
 * registerReplicationMetrics registers the passive mirror's gauges, read at scrape time from this
 * node's replicator: mesh_replication_lag_seconds (see Replicator.lagSeconds) and
 * mesh_replication_status{status}, 1 for the current status and 0 for the others (the label set is
 * REPLICATION_STATUSES, all present from the start).
 */
export function registerReplicationMetrics(registry: Registry, replicator: Replicator): void {
  new Gauge({
    name: 'mesh_replication_lag_seconds',
    help: 'How far the passive mirror on this node is behind the active cluster (seconds): now minus the commit stamp at the active of the oldest revision the mirror has not applied (for revisions not received yet, the stamp of the last event received, so it grows while disconnected), 0 when it has them all; 0 when this node does not replicate.',
    registers: [registry],
    collect() {
      this.set(replicator.lagSeconds());
    },
  });
  new Gauge({
    name: 'mesh_replication_status',
    help: 'The replicator status of this node: 1 for the current one of idle, connecting, streaming, disconnected, refused (the other cluster refused the replication credentials or TLS handshake), stopped; 0 for the others.',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      for (const status of REPLICATION_STATUSES) this.set({ status }, replicator.status === status ? 1 : 0);
    },
  });
}
