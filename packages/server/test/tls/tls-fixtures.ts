import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCa, issueClient, issueNode } from '@omnirelay/certs';

/** TestPki is a CA, node certificates n1..nN and a client `app` (mesh.admin, every scope), all for cluster `omnirelay`, plus a foreign CA. */
export interface TestPki {
  readonly dir: string;
  /** ca is the cluster CA's certificate file. */
  readonly ca: string;
  /** foreignCa is another CA's certificate file (nothing here was signed by it). */
  readonly foreignCa: string;
  /** cert and key are the files of node `id` or client `app`. */
  cert(id: string): string;
  key(id: string): string;
  /** clientTlsArgs are a node's --client-tls-* flags (`withCa`: clients must present a certificate). */
  clientTlsArgs(id: string, withCa: boolean): string[];
  /**
   * nodeEnv is node `id`'s environment for peer mutual TLS and client-port TLS with its own
   * certificate (`clientCa`: clients must present a certificate the CA signed).
   */
  nodeEnv(id: string, clientCa: boolean): Record<string, string>;
  remove(): void;
}

/**
 * makeTestPki issues, with `omnirelay cert issue`'s functions, a cluster CA, node certificates
 * `nodes` (SANs localhost, 127.0.0.1, spiffe://omnirelay/node/<id>), a client certificate `app`
 * and a foreign CA with its own `app`, in a fresh temp folder.
 */
export async function makeTestPki(nodes: readonly string[]): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-pki-'));
  const foreign = join(dir, 'foreign');
  await issueCa({ outDir: dir, clusterId: 'omnirelay' });
  await issueCa({ outDir: foreign, clusterId: 'omnirelay' });
  for (const id of nodes) await issueNode({ caDir: dir, outDir: dir, id, clusterId: 'omnirelay' });
  await issueClient({
    caDir: dir,
    outDir: dir,
    name: 'app',
    clusterId: 'omnirelay',
    roles: ['mesh.admin'],
    scopePrefixes: ['*'],
  });
  await issueClient({ caDir: foreign, outDir: foreign, name: 'app', clusterId: 'omnirelay' });
  const cert = (id: string): string => join(dir, `${id}.crt`);
  const key = (id: string): string => join(dir, `${id}.key`);
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    foreignCa: join(foreign, 'ca.crt'),
    cert,
    key,
    clientTlsArgs: (id, withCa) => [
      '--client-tls-cert',
      cert(id),
      '--client-tls-key',
      key(id),
      ...(withCa ? ['--client-tls-ca', join(dir, 'ca.crt')] : []),
    ],
    nodeEnv: (id, clientCa) => ({
      OMNIRELAY_CLIENT_TLS_CERT: cert(id),
      OMNIRELAY_CLIENT_TLS_KEY: key(id),
      ...(clientCa ? { OMNIRELAY_CLIENT_TLS_CA: join(dir, 'ca.crt') } : {}),
      OMNIRELAY_PEER_TLS_CA: join(dir, 'ca.crt'),
      OMNIRELAY_PEER_TLS_CERT: cert(id),
      OMNIRELAY_PEER_TLS_KEY: key(id),
    }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
