import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { issueCa, issueNode } from '@omnirelay/certs';
import type { PeerTlsFiles, TransportLogger } from '../../src/index';
import { PeerTransport, TRANSPORT_DEFAULTS } from '../../src/index';
import { loadRaftPeerService } from '../../src/transport/proto';

/** quiet is a TransportLogger that writes nothing. */
export const quiet: TransportLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** freePort finds a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** waitFor polls `check` every 5 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** issuePeerPki issues, into `dir`, a CA for cluster `clusterId` and a node certificate for each of `ids`. */
export async function issuePeerPki(dir: string, clusterId: string, ids: readonly string[]): Promise<void> {
  await issueCa({ outDir: dir, clusterId });
  for (const id of ids) await issueNode({ caDir: dir, outDir: dir, id, clusterId });
}

/** nodeTlsFiles are node `id`'s peer TLS files under `dir` (as issuePeerPki writes them). */
export function nodeTlsFiles(dir: string, id: string): PeerTlsFiles {
  return { caFile: join(dir, 'ca.crt'), certFile: join(dir, `${id}.crt`), keyFile: join(dir, `${id}.key`) };
}

/**
 * useTlsPeer, called in a describe block, issues certificates for nodes a and b of cluster c1 into
 * a temporary folder and starts b's peer port before the block's tests, and removes both after.
 */
export function useTlsPeer(): { readonly dir: () => string; readonly peer: () => PeerTransport } {
  let dir: string | undefined;
  let peer: PeerTransport | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peer-tls-'));
    await issuePeerPki(dir, 'c1', ['a', 'b']);
    peer = await startTlsPeer(dir, 'b');
  });
  afterAll(async () => {
    await peer?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useTlsPeer: used outside the tests of its block');
    return value;
  };
  return { dir: () => started(dir), peer: () => started(peer) };
}

/** startTlsPeer starts node `id` of cluster c1 with its files under `dir`; it accepts calls from node a. */
export async function startTlsPeer(dir: string, id: string): Promise<PeerTransport> {
  return PeerTransport.start({
    id,
    listenAddress: `127.0.0.1:${await freePort()}`,
    peers: new Map([['a', '127.0.0.1:1']]),
    settings: { ...TRANSPORT_DEFAULTS, clusterId: 'c1', peerTls: nodeTlsFiles(dir, id) },
    handler: { onMessage: () => {}, onPeerLost: () => {}, onUndeliverable: () => {} },
    logger: quiet,
  });
}

/** probeOnce sends one Probe from node a of cluster c1 to `address` over a connection of its own. */
export async function probeOnce(
  address: string,
  credentials: grpc.ChannelCredentials,
): Promise<grpc.ServiceError | null> {
  const client = new (loadRaftPeerService().Client)(address, credentials, {
    'grpc.use_local_subchannel_pool': 1,
  });
  try {
    return await new Promise((resolve) => {
      const probe = client['Probe'] as (
        request: object,
        options: grpc.CallOptions,
        callback: (error: grpc.ServiceError | null) => void,
      ) => void;
      probe.call(client, { from: 'a', clusterId: 'c1' }, { deadline: Date.now() + 10_000 }, resolve);
    });
  } finally {
    client.close();
  }
}

/** PROBE_TRIES_MAX bounds probeUntilServed. */
const PROBE_TRIES_MAX = 20;

/**
 * probeUntilServed probes until a probe is answered (a TLS port takes connections only once it
 * has read its files), at most PROBE_TRIES_MAX times; it returns the last error, null once served.
 */
export async function probeUntilServed(
  address: string,
  credentials: () => grpc.ChannelCredentials,
): Promise<grpc.ServiceError | null> {
  let error = await probeOnce(address, credentials());
  for (let i = 1; i < PROBE_TRIES_MAX && error !== null; i++) {
    await new Promise((r) => setTimeout(r, 50));
    error = await probeOnce(address, credentials());
  }
  return error;
}
