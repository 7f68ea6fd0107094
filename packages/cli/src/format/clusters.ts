import type { ClustersView } from '@omnirelay/client-sdk';
import type { JsonValue } from './json';
import { jsonDocument } from './json';
import { renderTable } from './table';

/** CLUSTERS_HEADERS are the columns of the clusters table. */
export const CLUSTERS_HEADERS = [
  'CLUSTER',
  'LOCAL',
  'STATE',
  'EPOCH',
  'REGION',
  'PRIORITY',
  'ENDPOINTS',
  'CHANGED-BY',
  'REASON',
] as const;

/**
 * clustersTable renders every descriptor the cluster knows (its own first) and a line on its
 * replication: status, lag, source and version vector. A cluster without a descriptor says it
 * is active in epoch 0.
 */
export function clustersTable(view: ClustersView): string {
  const head =
    view.clusters.length === 0
      ? `no cluster descriptor set: this cluster is ${view.state} in failover epoch ${view.failoverEpoch}\n`
      : renderTable(
          CLUSTERS_HEADERS,
          view.clusters.map((d) => [
            d.clusterId,
            d.local ? 'yes' : 'no',
            d.state,
            String(d.failoverEpoch),
            d.region || '-',
            String(d.priority),
            d.endpoints.join(',') || '-',
            d.changedBy || '-',
            d.reason || '-',
          ]),
        );
  const r = view.replication;
  const vector = Object.entries(r.versionVector)
    .map(([id, revision]) => `${id}=${revision}`)
    .join(',');
  const replication =
    view.following === '' && r.sourceClusterId === ''
      ? 'replication: none (this cluster follows no other)\n'
      : `replication: ${r.status}, lag ${r.lagSeconds.toFixed(3)} s, following ${view.following || '-'}, mirror of ${r.sourceClusterId || '-'} at ${vector || '-'} (${r.mirroredScopes} scopes)\n`;
  return head + replication;
}

/** clustersJson renders the view as one JSON document. */
export function clustersJson(view: ClustersView): string {
  return jsonDocument(view as unknown as JsonValue);
}

/** HISTORY_HEADERS are the columns of the failover history table. */
export const HISTORY_HEADERS = [
  'REVISION',
  'TIME',
  'CLUSTER',
  'STEP',
  'CORRELATION-ID',
  'ACTOR',
  'DETAIL',
  'REASON',
] as const;

/**
 * historyTable renders failover records, oldest first, one a row: the revision that recorded
 * it, its time (UTC, ISO 8601), the cluster, the step, the correlation id, the actor, the detail
 * and the reason.
 */
export function historyTable(records: ClustersView['history']): string {
  if (records.length === 0) return 'no failover records\n';
  return renderTable(
    HISTORY_HEADERS,
    records.map((r) => [
      String(r.revision),
      new Date(r.stampMs).toISOString(),
      r.clusterId || '-',
      r.step,
      r.correlationId,
      r.actor || '-',
      r.detail || '-',
      r.reason || '-',
    ]),
  );
}
