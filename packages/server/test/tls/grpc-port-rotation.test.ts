import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { issueNode } from '@omnirelay/certs';
import { pino } from 'pino';
import { CLIENT_TLS_REFRESH_MS } from '../../src/tls/client-tls';
import { pollUntil } from '../cluster/cluster-helpers';
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

/** REREAD_WAIT_MS bounds the wait for the node to re-read rotated files: two refresh periods and then some. */
const REREAD_WAIT_MS = 2 * CLIENT_TLS_REFRESH_MS + 5000;

/** REREAD_POLL_MS is how often the test looks whether the node re-read its files. */
const REREAD_POLL_MS = 100;

describe('rotating the gRPC client port certificate', () => {
  let pki: TestPki;
  let node: SingleNode;
  /** warnings are the node's log lines at warn and above. */
  const warnings: string[] = [];
  const live = (name: string): string => join(pki.dir, `live.${name}`);

  beforeAll(async () => {
    pki = await makeTestPki(['solo']);
    await issueNode({ caDir: pki.dir, outDir: join(pki.dir, 'next'), id: 'solo', clusterId: 'omnirelay' });
    copyFileSync(pki.cert('solo'), live('crt'));
    copyFileSync(pki.key('solo'), live('key'));
    node = await startSingleNode(
      ['--client-tls-cert', live('crt'), '--client-tls-key', live('key')],
      pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
    );
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
    const mark = warnings.length;
    replace(live('key'), join(pki.dir, 'next', 'solo.key'));
    // The node read the pair that does not match when it says it skipped it.
    await pollUntil(
      'the node to skip the key that is not its certificate’s',
      () =>
        Promise.resolve(
          warnings
            .slice(mark)
            .find((l) => l.includes('client TLS files skipped, the last usable ones stay in use')),
        ),
      REREAD_WAIT_MS,
      REREAD_POLL_MS,
    );
    expect(await handshake(address, ca)).toBe(before);
    replace(live('crt'), join(pki.dir, 'next', 'solo.crt'));
    const after = await pollUntil(
      'the node to serve the new certificate',
      async () => {
        const serial = await handshake(address, ca);
        return serial === before ? undefined : serial;
      },
      REREAD_WAIT_MS,
      REREAD_POLL_MS,
    );
    expect(after).not.toBe(before);
    expect(after).toBe(new X509Certificate(readFileSync(join(pki.dir, 'next', 'solo.crt'))).serialNumber);
  });
});
