#!/usr/bin/env node
/**
 * `npm start`: a local cluster on 127.0.0.1 (3 nodes by default; OMNIRELAY_NODES=1..7), data
 * under ./data/, logs under ./data/logs/. Prints each node's addresses and who leads, and stops
 * every node cleanly on Ctrl-C. Ports: peers on OMNIRELAY_BASE_PORT+i, HTTP clients on
 * OMNIRELAY_BASE_PORT+100+i, gRPC clients on OMNIRELAY_BASE_PORT+200+i (default base 7100; 0
 * picks free ports). `npm start -- --secure` (or OMNIRELAY_SECURE=1) runs the same cluster with
 * a CA and certificates under ./data/pki/ (local-pki.ts): mutual TLS between peers, TLS and
 * required client certificates on the client ports, and the printed lines use the admin
 * certificate.
 */
import { join, resolve } from 'node:path';
import { isCertError } from '@omnirelay/certs';
import { LocalCluster } from './local-cluster';
import type { LocalClusterOptions } from './local-cluster';
import { LOCAL_PKI_DIR, ensureLocalPki } from './local-pki';
import { startBanner } from './start-banner';
import type { AccessCredentials } from './start-banner';
import { StartUsageError, parseStartOptions } from './start-options';

/** LOCAL_CLUSTER_ID is the cluster id of a secure local cluster: the server's default one. */
const LOCAL_CLUSTER_ID = 'omnirelay';

/**
 * secureOptions makes or reuses the PKI under `dataRoot` and returns the cluster options that turn
 * TLS on, with the operator's credentials for the printed lines. This is where the secure mode's
 * client authentication is configured (a tokens file would be issued here and passed to the nodes).
 */
async function secureOptions(
  dataRoot: string,
  size: number,
): Promise<{ options: Pick<LocalClusterOptions, 'nodeTls' | 'clientTls'>; credentials: AccessCredentials }> {
  const nodeIds = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const pki = await ensureLocalPki({
    dir: join(dataRoot, LOCAL_PKI_DIR),
    clusterId: LOCAL_CLUSTER_ID,
    nodeIds,
  });
  for (const line of pki.issued) process.stdout.write(`pki: ${line}\n`);
  if (pki.issued.length === 0) process.stdout.write(`pki: reusing the CA and certificates in ${pki.dir}\n`);
  const credentials = { caFile: pki.caFile, certFile: pki.admin.certFile, keyFile: pki.admin.keyFile };
  const files = (id: string): { certFile: string; keyFile: string } => {
    const node = pki.nodes.get(id);
    if (node === undefined) throw new Error(`no certificate for node ${id}`);
    return node;
  };
  return {
    options: {
      nodeTls: { clusterId: pki.clusterId, caFile: pki.caFile, files },
      clientTls: credentials,
    },
    credentials,
  };
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseStartOptions(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof StartUsageError)) throw e;
    process.stderr.write(`npm start: ${e.message}\n`);
    process.exit(2);
  }
  const { size, basePort, secure } = parsed;
  const dataRoot = resolve(parsed.dataRoot);
  const tls = secure ? await secureOptions(dataRoot, size) : undefined;
  let stopping = false;
  const cluster = await LocalCluster.create({
    size,
    dataRoot,
    basePort,
    ...tls?.options,
    onExit: (id, code, signal) => {
      if (stopping) return;
      process.stdout.write(
        `! ${id} exited (${signal ?? `code ${String(code)}`}); see ${dataRoot}/logs/${id}.log. ` +
          `The others keep running; Ctrl-C stops them.\n`,
      );
    },
  });
  process.stdout.write(startBanner(dataRoot, cluster.nodes, tls?.credentials));
  cluster.startAll();

  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping every node (SIGTERM, by PID)...\n');
    await cluster.stopAll();
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());

  let lastLeader = '';
  const started = Date.now();
  let warned = false;
  const poll = async (): Promise<void> => {
    if (stopping) return;
    const leader = (await cluster.leader()) ?? '';
    if (leader !== lastLeader) {
      const term = leader === '' ? undefined : (await cluster.status(leader))?.term;
      process.stdout.write(
        leader === '' ? 'no leader right now\n' : `leader: ${leader} (term ${String(term)})\n`,
      );
      lastLeader = leader;
    } else if (leader === '' && !warned && Date.now() - started > 10_000) {
      warned = true;
      process.stdout.write(`still no leader after 10 s; check the logs in ${dataRoot}/logs/\n`);
    }
    setTimeout(() => void poll(), 500);
  };
  setTimeout(() => void poll(), 300);
}

main().catch((e: unknown) => {
  const why = isCertError(e) ? `${e.message}; ${e.next}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`npm start failed: ${why}\n`);
  process.exit(1);
});
