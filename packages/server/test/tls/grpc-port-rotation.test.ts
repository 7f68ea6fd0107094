import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { issueNode } from '@omnirelay/certs';
import { CLIENT_TLS_REFRESH_MS } from '../../src/tls/client-tls';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';
import type { TestPki } from './tls-fixtures';
import { makeTestPki } from './tls-fixtures';

jest.setTimeout(60_000);

/** handshake opens one TLS connection (ALPN h2) to `address` and resolves with the serial it was shown. */
function handshake(address: string, ca: Buffer): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(port),
      ca,
      servername: 'localhost',
      ALPNProtocols: ['h2'],
    });
    const timer = setTimeout(() => socket.destroy(new Error('no handshake within 5 s')), 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.once('error', (e: Error) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** replace swaps a file's content atomically (write beside it, rename), as a rotation should. */
function replace(target: string, from: string): void {
  copyFileSync(from, `${target}.tmp`);
  renameSync(`${target}.tmp`, target);
}

const pastRefresh = (): Promise<void> => new Promise((r) => setTimeout(r, CLIENT_TLS_REFRESH_MS + 1500));

describe('rotating the gRPC client port certificate', () => {
  let pki: TestPki;
  let node: SingleNode;
  const live = (name: string): string => join(pki.dir, `live.${name}`);

  beforeAll(async () => {
    pki = await makeTestPki(['solo']);
    await issueNode({ caDir: pki.dir, outDir: join(pki.dir, 'next'), id: 'solo', clusterId: 'omnirelay' });
    copyFileSync(pki.cert('solo'), live('crt'));
    copyFileSync(pki.key('solo'), live('key'));
    node = await startSingleNode(['--client-tls-cert', live('crt'), '--client-tls-key', live('key')]);
  });

  afterAll(async () => {
    await node.stop();
    pki.remove();
  });

  it('keeps serving the last usable pair while the new key sits beside the old certificate, then serves the new one', async () => {
    const ca = readFileSync(pki.ca);
    const address = node.server.grpcAddress;
    const before = await handshake(address, ca);
    // Halfway through a rotation: the new key is in place, its certificate is not yet.
    replace(live('key'), join(pki.dir, 'next', 'solo.key'));
    await pastRefresh();
    expect(await handshake(address, ca)).toBe(before);
    replace(live('crt'), join(pki.dir, 'next', 'solo.crt'));
    await pastRefresh();
    const after = await handshake(address, ca);
    expect(after).not.toBe(before);
    expect(after).toBe(new X509Certificate(readFileSync(join(pki.dir, 'next', 'solo.crt'))).serialNumber);
  });
});
