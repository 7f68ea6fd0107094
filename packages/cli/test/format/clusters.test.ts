import type { ClustersView } from '@omnirelay/client-sdk';
import { clustersJson, clustersTable } from '../../src/format/clusters';
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
};

const UNSET: ClustersView = {
  clusterId: '',
  state: 'active',
  failoverEpoch: 0,
  lastEventRevision: 0,
  following: '',
  clusters: [],
  replication: { status: 'idle', lagSeconds: 0, sourceClusterId: '', versionVector: {}, mirroredScopes: 0 },
};

describe('the clusters renderers', () => {
  it('render every descriptor, its own first, and a line on the replication', () => {
    expectGolden('clusters-table', clustersTable(PASSIVE) + clustersTable(UNSET));
  });

  it('render the JSON document', () => {
    expectGolden('clusters-json', clustersJson(PASSIVE));
  });
});
