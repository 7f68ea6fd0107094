import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { createClient } from '../src/index';
import { rejectionOf } from './support/solo';

/**
 * The server speaks h2c today; TLS and tokens sit in front of it (a mesh sidecar, an ingress).
 * This checks the SDK's side against a grpc-js server with a test certificate (fixtures/):
 * it verifies the server with the given CA, and sends the token as a bearer header.
 */
describe('TLS and bearer token', () => {
  // A self-signed certificate for 127.0.0.1 and localhost, valid for 100 years, made for tests only.
  const dir = join(__dirname, 'fixtures');
  let server: grpc.Server;
  let address = '';
  const seenAuth: string[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(loadPublicApi().cluster.definition, {
      Status: (call: grpc.ServerUnaryCall<unknown, object>, callback: grpc.sendUnaryData<object>) => {
        seenAuth.push(String(call.metadata.get('authorization')[0] ?? ''));
        callback(null, {
          nodeId: 'tls-node',
          role: 'leader',
          term: 3,
          leader: 'tls-node',
          commit: 7,
          applied: 7,
          members: [],
        });
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(null, [
      {
        private_key: readFileSync(join(dir, 'test-key.pem')),
        cert_chain: readFileSync(join(dir, 'test-cert.pem')),
      },
    ]);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e === null ? resolve(p) : reject(e))),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(() => {
    server.forceShutdown();
  });

  it('talks TLS to a node whose certificate the given CA signed, sending the token', async () => {
    const client = createClient({
      endpoints: [address],
      tls: { ca: readFileSync(join(dir, 'test-cert.pem')) },
      token: 'omr_tls-test-token-0123456789',
    });
    const status = await client.status();
    expect(status).toMatchObject({ nodeId: 'tls-node', role: 'leader', term: 3n, applied: 7n });
    expect(seenAuth).toContain('Bearer omr_tls-test-token-0123456789');
    client.close();
  });

  it('refuses a node whose certificate it cannot verify', async () => {
    const client = createClient({ endpoints: [address], tls: {}, callTimeoutMs: 1500 });
    const e = await rejectionOf(client.status());
    expect(e.code).toBe('UNAVAILABLE');
    client.close();
  });

  it('refuses half a client certificate', () => {
    expect(() => createClient({ endpoints: [address], tls: { cert: 'x' } })).toThrow(
      /cert and tls.key go together/,
    );
  });
});
