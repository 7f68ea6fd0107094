import type { ClustersView } from '@omnirelay/client-sdk';
import { clustersJson, clustersTable, historyTable } from '../../src/format/clusters';
import { expectGolden } from '../support/golden';

const PASSIVE: ClustersView = {
  clusterId: 'b',
  state: 'passive',
  failoverEpoch: 0,
  lastEventRevision: 0,
  following: 'a',
  clusters: [
    {
      clusterId: 'b',
      region: 'eu-west',
      priority: 1,
      state: 'passive',
      failoverEpoch: 0,
      endpoints: ['10.1.0.1:7001'],
      changedBy: 'token/ops',
      reason: 'standby of a',
      changedRevision: 12,
      local: true,
    },
    {
      clusterId: 'a',
      region: 'us-east',
      priority: 2,
      state: 'active',
      failoverEpoch: 0,
      endpoints: ['10.0.0.1:7001', '10.0.0.2:7001'],
      changedBy: '',
      reason: 'primary',
      changedRevision: 13,
      local: false,
    },
  ],
  replication: {
    status: 'streaming',
    lagSeconds: 0.25,
    sourceClusterId: 'a',
    versionVector: { a: 4_211 },
    mirroredScopes: 37,
  },
  history: [
    {
      revision: 12,
      stampMs: Date.UTC(2026, 0, 2, 3, 4, 5),
      correlationId: 'promote-1',
      actor: 'token/ops',
      clusterId: 'b',
      step: 'catch-up',
      detail: 'b holds a up to revision 7',
      reason: 'planned failover to b',
    },
  ],
};

const UNSET: ClustersView = {
  clusterId: '',
  state: 'active',
  failoverEpoch: 0,
  lastEventRevision: 0,
  following: '',
  clusters: [],
  replication: { status: 'idle', lagSeconds: 0, sourceClusterId: '', versionVector: {}, mirroredScopes: 0 },
  history: [],
};

describe('the clusters renderers', () => {
  it('renders the failover history one record a row, and says when there is none', () => {
    const table = historyTable(PASSIVE.history);
    expect(table.split('\n')[0]).toMatch(
      /^REVISION +TIME +CLUSTER +STEP +CORRELATION-ID +ACTOR +DETAIL +REASON$/,
    );
    expect(table.split('\n')[1]).toMatch(
      /^12 +2026-01-02T03:04:05.000Z +b +catch-up +promote-1 +token\/ops +b holds a up to revision 7 +planned failover to b$/,
    );
    expect(historyTable([])).toBe('no failover records\n');
  });

  it('render every descriptor, its own first, and a line on the replication', () => {
    expectGolden('clusters-table', clustersTable(PASSIVE) + clustersTable(UNSET));
  });

  it('render the JSON document', () => {
    expectGolden('clusters-json', clustersJson(PASSIVE));
  });
});
