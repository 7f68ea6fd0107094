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
