import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { connect, createServer } from 'node:tls';
import type { IssuedFiles } from '../src/issue';
import { issueCa, issueClient, issueNode } from '../src/issue';
import { useTempDir } from './support/temp-dir';

/** HANDSHAKE_TIMEOUT_MS bounds each handshake attempt; a hang fails the test instead of stalling it. */
const HANDSHAKE_TIMEOUT_MS = 5000;

const DAY_MS = 86_400_000;
const tempDir = useTempDir('tls');

/** Pem is a certificate and its key, read from what an issue call wrote. */
interface Pem {
  readonly cert: string;
  readonly key: string;
}

function pemOf(files: IssuedFiles): Pem {
  return { cert: readFileSync(files.certPath, 'utf8'), key: readFileSync(files.keyPath, 'utf8') };
}

/**
 * Handshake is how one mutual-TLS attempt ended on each side: the server either accepted an
 * authorized client (with the client's URI SANs) or refused it with an error, and the client
 * either read the server's greeting or failed with an error.
 */
interface Handshake {
  readonly server:
    | { readonly accepted: true; readonly peerSan: string }
    | { readonly accepted: false; readonly error: string };
  readonly client: { readonly greeted: true } | { readonly greeted: false; readonly error: string };
}

/**
 * mutualTls runs a real TLS server on 127.0.0.1:0 with `server` as its certificate, asking for
 * and verifying a client certificate against `serverCa`, and connects to it with `client`,
 * verifying the server against `clientCa`. The server greets every authorized client with
 * "hello". Both ends are closed before it resolves.
 */
async function mutualTls(server: Pem, serverCa: string, client: Pem, clientCa: string): Promise<Handshake> {
  const sockets = new Set<TLSSocket>();
  let serverSide: Handshake['server'] | undefined;
  const tlsServer = createServer({
    ...server,
    ca: serverCa,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  tlsServer.on('secureConnection', (socket) => {
    sockets.add(socket);
    serverSide = {
      accepted: socket.authorized,
      peerSan: socket.getPeerCertificate().subjectaltname ?? '',
    } as Handshake['server'];
    socket.end('hello');
  });
  const serverRefused = new Promise<void>((resolve) => {
    // A refused client certificate ends the handshake without a useful error (the socket just
    // closes); the reason is the socket's authorizationError, e.g. CERT_HAS_EXPIRED.
    tlsServer.on('tlsClientError', (error, socket) => {
      serverSide = { accepted: false, error: String(socket.authorizationError ?? error.message) };
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    tlsServer.once('error', reject);
    tlsServer.listen(0, '127.0.0.1', resolve);
  });
  const address = tlsServer.address();
  if (typeof address !== 'object' || address === null) throw new Error('the TLS server has no port');

  let timer: NodeJS.Timeout | undefined;
  try {
    const clientSide = await new Promise<Handshake['client']>((resolve) => {
      timer = setTimeout(() => resolve({ greeted: false, error: 'timed out' }), HANDSHAKE_TIMEOUT_MS);
      const socket = connect({
        host: '127.0.0.1',
        port: address.port,
        ...client,
        ca: clientCa,
        minVersion: 'TLSv1.2',
      });
      sockets.add(socket);
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('error', (error: Error) => resolve({ greeted: false, error: error.message }));
      socket.on('close', () =>
        resolve(
          received === 'hello' ? { greeted: true } : { greeted: false, error: 'closed without a greeting' },
        ),
      );
    });
    // A TLS 1.3 client finishes its half of the handshake before the server has checked the
    // client's certificate, so wait for the server's verdict too.
    if (serverSide === undefined) await within(serverRefused, HANDSHAKE_TIMEOUT_MS);
    return { server: serverSide ?? { accepted: false, error: 'no verdict' }, client: clientSide };
  } finally {
    clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
  }
}

/** clientError is the client's error, or '' when the client was greeted. */
function clientError(h: Handshake): string {
  return h.client.greeted ? '' : h.client.error;
}

/** within resolves when `promise` does, or after `ms`, whichever comes first, and leaves no timer behind. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('certificates from cert issue, in a real TLS handshake', () => {
  let caPem = '';
  let otherCaPem = '';
  let node: Pem;
  let client: Pem;

  beforeEach(async () => {
    const caDir = join(tempDir(), 'ca');
    caPem = readFileSync((await issueCa({ outDir: caDir, clusterId: 'c1' })).certPath, 'utf8');
    otherCaPem = readFileSync(
      (await issueCa({ outDir: join(tempDir(), 'other-ca'), clusterId: 'c1' })).certPath,
      'utf8',
    );
    node = pemOf(await issueNode({ caDir, outDir: tempDir(), id: 'n1', clusterId: 'c1' }));
    client = pemOf(
      await issueClient({ caDir, outDir: tempDir(), name: 'orders', clusterId: 'c1', roles: ['mesh.read'] }),
    );
  });

  /** caSigned are the options of a certificate signed by the test's CA, written to its own folder. */
  const caSigned = (): { caDir: string; outDir: string; clusterId: string } => ({
    caDir: join(tempDir(), 'ca'),
    outDir: join(tempDir(), 'x'),
    clusterId: 'c1',
  });

  /** window is a validity window from `fromDays` to `toDays` days from now. */
  const window = (fromDays: number, toDays: number): { notBefore: Date; notAfter: Date } => ({
    notBefore: new Date(Date.now() + fromDays * DAY_MS),
    notAfter: new Date(Date.now() + toDays * DAY_MS),
  });

  it('completes mutual TLS between a node certificate and a client certificate of one CA', async () => {
    const r = await mutualTls(node, caPem, client, caPem);
    expect(r.client).toEqual({ greeted: true });
    expect(r.server).toEqual({
      accepted: true,
      peerSan: 'URI:spiffe://c1/client/orders, URI:omnirelay:role:mesh.read',
    });
  });

  it('completes mutual TLS between two nodes (a node certificate is also a peer client)', async () => {
    const n2 = pemOf(
      await issueNode({ caDir: join(tempDir(), 'ca'), outDir: tempDir(), id: 'n2', clusterId: 'c1' }),
    );
    const r = await mutualTls(node, caPem, n2, caPem);
    expect(r.client).toEqual({ greeted: true });
    expect(r.server.accepted && r.server.peerSan).toMatch(/^URI:spiffe:\/\/c1\/node\/n2,/);
  });

  it('refuses a client certificate from another CA', async () => {
    const foreign = pemOf(
      await issueClient({
        caDir: join(tempDir(), 'other-ca'),
        outDir: join(tempDir(), 'x'),
        name: 'orders',
        clusterId: 'c1',
      }),
    );
    const r = await mutualTls(node, caPem, foreign, caPem);
    expect(r.server).toEqual({ accepted: false, error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(r.client.greeted).toBe(false);
  });

  it('refuses a server whose certificate is from another CA than the client trusts', async () => {
    const r = await mutualTls(node, caPem, client, otherCaPem);
    expect(clientError(r)).toMatch(/self[- ]signed|unable to (get|verify)/i);
  });

  it('refuses an expired client certificate', async () => {
    const expired = pemOf(await issueClient({ ...caSigned(), name: 'late', ...window(-2, -1) }));
    const r = await mutualTls(node, caPem, expired, caPem);
    expect(r.server).toEqual({ accepted: false, error: 'CERT_HAS_EXPIRED' });
    expect(r.client.greeted).toBe(false);
  });

  it('refuses a client certificate that is not valid yet', async () => {
    const early = pemOf(await issueClient({ ...caSigned(), name: 'early', ...window(1, 2) }));
    const r = await mutualTls(node, caPem, early, caPem);
    expect(r.server).toEqual({ accepted: false, error: 'CERT_NOT_YET_VALID' });
    expect(r.client.greeted).toBe(false);
  });

  it('refuses an expired server certificate', async () => {
    const expired = pemOf(await issueNode({ ...caSigned(), id: 'n9', ...window(-2, -1) }));
    const r = await mutualTls(expired, caPem, client, caPem);
    expect(clientError(r)).toMatch(/expired/i);
  });

  it('refuses a client certificate used as a server certificate (no serverAuth)', async () => {
    const r = await mutualTls(client, caPem, node, caPem);
    expect(clientError(r)).toMatch(/purpose/i);
  });
});
