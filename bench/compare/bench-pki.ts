/**
 * BenchPki mints, with the project's own certificate library (`omnirelay cert issue`), every
 * certificate a TLS run of the compare bench needs, in a fresh temporary folder: one CA, a node
 * certificate per member of either target (serverAuth + clientAuth, SANs spiffe://<cluster>/node/<id>,
 * DNS localhost and IP 127.0.0.1, which is what OmniRelay's peer check and etcd's peer and client
 * authentication both need), and one client certificate for the bench's own clients.
 */
import { join } from 'node:path';
import { issueCa, issueClient, issueNode } from '@omnirelay/certs';
import type { TlsFiles } from './tls-files';
import { makeScratchDir } from './children';

/** BENCH_CLUSTER_ID is the cluster id in every certificate: OmniRelay's default --cluster-id. */
export const BENCH_CLUSTER_ID = 'omnirelay';

/** BENCH_CLIENT_NAME is the identity of the bench's client certificate. */
export const BENCH_CLIENT_NAME = 'bench';

/**
 * BENCH_CLIENT_ROLES are the bench client's roles: every role, so that nothing the bench calls
 * (writes, transfers, /status) is refused once RBAC is on.
 */
export const BENCH_CLIENT_ROLES: readonly string[] = ['mesh.read', 'mesh.operate', 'mesh.admin'];

/** BENCH_CLIENT_SCOPE_PREFIXES lets the bench client campaign for every scope. */
export const BENCH_CLIENT_SCOPE_PREFIXES: readonly string[] = ['*'];

/** BenchPki is the minted folder. */
export interface BenchPki {
  readonly dir: string;
  /** caFile is the CA certificate every server and client trusts. */
  readonly caFile: string;
  /** node is member `id`'s certificate and key (server and peer), with the CA. */
  node(id: string): TlsFiles;
  /** client is the bench client's certificate and key, with the CA. */
  readonly client: TlsFiles;
  /** remove deletes the folder (keys included). */
  remove(): void;
}

/** mintBenchPki issues the CA, a node certificate for each of `members` and the bench client's certificate. */
export async function mintBenchPki(members: readonly string[]): Promise<BenchPki> {
  const scratch = makeScratchDir('compare-pki-');
  const dir = scratch.path;
  try {
    await issueCa({ outDir: dir, clusterId: BENCH_CLUSTER_ID });
    for (const id of members) await issueNode({ caDir: dir, outDir: dir, id, clusterId: BENCH_CLUSTER_ID });
    await issueClient({
      caDir: dir,
      outDir: dir,
      name: BENCH_CLIENT_NAME,
      clusterId: BENCH_CLUSTER_ID,
      roles: BENCH_CLIENT_ROLES,
      scopePrefixes: BENCH_CLIENT_SCOPE_PREFIXES,
    });
  } catch (e) {
    scratch.remove();
    throw e;
  }
  const caFile = join(dir, 'ca.crt');
  const files = (name: string): TlsFiles => ({
    caFile,
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
  });
  return {
    dir,
    caFile,
    node: (id) => {
      if (!members.includes(id)) throw new Error(`no bench certificate for member ${id}`);
      return files(id);
    },
    client: files(BENCH_CLIENT_NAME),
    remove: () => scratch.remove(),
  };
}
