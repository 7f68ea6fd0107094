import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueClient } from '@omnirelay/certs';
import type { LocalCluster } from '../../src/index';
import type { TestPki } from '../tls/tls-fixtures';
import { makeTestPki } from '../tls/tls-fixtures';
import {
  CALM_ELECTION_FLAGS,
  CALM_LEADER_WAIT_MS,
  pollUntil,
  useLocalCluster,
} from '../cluster/cluster-helpers';

jest.setTimeout(150_000);

/**
 * B's replication files live in a folder of their own: the test swaps a refused certificate for
 * a good one there, and B's replicator reads them again at its next connection.
 */
const replicationDir = mkdtempSync(join(tmpdir(), 'omnirelay-replication-'));
const replicationCa = join(replicationDir, 'ca.crt');
const replicationCert = join(replicationDir, 'replicator.crt');
const replicationKey = join(replicationDir, 'replicator.key');

/** install copies a certificate and key into B's replication files, each replaced by a rename. */
function install(certFile: string, keyFile: string): void {
  for (const [from, to] of [
    [certFile, replicationCert],
    [keyFile, replicationKey],
  ] as const) {
    copyFileSync(from, `${to}.next`);
    renameSync(`${to}.next`, to);
  }
}

interface ClustersBody {
  readonly replication: { readonly status: string };
}

describe('replication from a cluster with client TLS and access control on (2 × 3 real processes)', () => {
  let pki: TestPki | undefined;
  const files = (): TestPki => {
    if (pki === undefined) throw new Error('the certificates are used before they were made');
    return pki;
  };
  const a = useLocalCluster('repl-tls-a', {
    size: 3,
    beforeStart: async () => {
      pki = await makeTestPki(['n1', 'n2', 'n3']);
      // A client with mesh.read only: what replication needs (Watch, ListLeaders, Status, Clusters).
      await issueClient({
        caDir: pki.dir,
        outDir: pki.dir,
        name: 'replicator',
        clusterId: 'omnirelay',
        roles: ['mesh.read'],
      });
      copyFileSync(pki.ca, replicationCa);
      // First a certificate A does not trust: the handshake is refused.
      install(join(pki.dir, 'foreign', 'app.crt'), join(pki.dir, 'foreign', 'app.key'));
    },
    extraArgs: CALM_ELECTION_FLAGS,
    nodeEnv: (id) => files().nodeEnv(id, true),
    get clientTls() {
      return { caFile: files().ca, certFile: files().cert('app'), keyFile: files().key('app') };
    },
  });
  const b = useLocalCluster('repl-tls-b', {
    size: 3,
    extraArgs: [
      ...CALM_ELECTION_FLAGS,
      '--replication-tls-ca',
      replicationCa,
      '--replication-tls-cert',
      replicationCert,
      '--replication-tls-key',
      replicationKey,
    ],
  });

  afterAll(() => {
    pki?.remove();
    rmSync(replicationDir, { recursive: true, force: true });
  });

  it('reports a refused handshake with what to fix, then follows A over mutual TLS once the certificate is good', async () => {
    const leaderA = await a().waitForLeader(CALM_LEADER_WAIT_MS);
    const leaderB = await b().waitForLeader(CALM_LEADER_WAIT_MS);
    const endpointsA = a().nodes.map((n) => n.grpcAddress);
    expect(
      (
        await a().post(leaderA, '/control/clusters', {
          clusterId: 'a',
          state: 'active',
          failoverEpoch: 0,
          endpoints: endpointsA,
          reason: 'primary',
        })
      ).status,
    ).toBe(200);
    const granted = await a().post(leaderA, '/leadership/acquire', {
      scope: 'tls/1',
      candidateId: 'w',
      leaseTtlMs: 60_000,
    });
    const fence = (granted.body as { lease: { fenceToken: string } }).lease.fenceToken;
    const set = async (cluster: LocalCluster, id: string, body: object): Promise<number> =>
      (await cluster.post(id, '/control/clusters', { failoverEpoch: 0, reason: 'test', ...body })).status;
    expect(await set(b(), leaderB, { clusterId: 'b', state: 'passive', endpoints: [] })).toBe(200);
    expect(
      await set(b(), leaderB, { local: false, clusterId: 'a', state: 'active', endpoints: endpointsA }),
    ).toBe(200);

    await pollUntil('B to report the refused handshake', async () => {
      const body = (await b().get(leaderB, '/control/clusters')).body as ClustersBody;
      return body.replication.status === 'refused' ? true : undefined;
    });
    // The replicator keeps retrying (status 'connecting' between attempts): ask the metric until
    // it shows the refusal too, rather than once at a moment that may fall between two attempts.
    await pollUntil('the metric to show the refused handshake', async () => {
      const metrics = await (await fetch(`http://${b().node(leaderB).clientAddress}/metrics`)).text();
      return metrics.includes('mesh_replication_status{status="refused"} 1') ? true : undefined;
    });
    const log = readFileSync(b().node(leaderB).logFile, 'utf8');
    expect(log).toContain('refused the replication channel');
    expect(log).toContain('--replication-tls-ca');

    install(join(files().dir, 'replicator.crt'), join(files().dir, 'replicator.key'));
    const mirror = await pollUntil('A grant in B mirror over mutual TLS', async () => {
      const body = (await b().get(leaderB, '/control/mirror?prefix=tls/')).body as {
        scopes: { scope: string; holder: { fenceToken: string } | null }[];
      };
      return body.scopes.length === 1 ? body.scopes[0] : undefined;
    });
    expect(mirror).toMatchObject({ scope: 'tls/1', holder: { fenceToken: fence } });
    const body = (await b().get(leaderB, '/control/clusters')).body as ClustersBody;
    expect(body.replication.status).toBe('streaming');
  });
});
