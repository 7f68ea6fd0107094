import { readFileSync } from 'node:fs';
import type { TestPki } from '../../server/test/tls/tls-fixtures';
import { makeTestPki } from '../../server/test/tls/tls-fixtures';
import type { LeadershipEvent } from '../src/index';
import type { SoloCluster } from './support/solo';
import { rejectionOf, startSolo } from './support/solo';

jest.setTimeout(60_000);

/**
 * The SDK's `tls` option against a real node whose gRPC port speaks TLS with a client CA
 * (--client-tls-*), with certificates from `omnirelay cert issue`.
 */
describe('the SDK over TLS to a real node', () => {
  let pki: TestPki;
  let solo: SoloCluster;

  beforeAll(async () => {
    pki = await makeTestPki(['solo']);
    solo = await startSolo(pki.clientTlsArgs('solo', true));
  });

  afterAll(async () => {
    await solo.stop();
    pki.remove();
  });

  /** trusted is the TLS option of a client that trusts the cluster CA and presents `app`'s certificate. */
  const trusted = (): { ca: Buffer; cert: Buffer; key: Buffer } => ({
    ca: readFileSync(pki.ca),
    cert: readFileSync(pki.cert('app')),
    key: readFileSync(pki.key('app')),
  });

  it('acquires, campaigns and watches over mutual TLS', async () => {
    const client = solo.client({ tls: trusted() });
    const events: LeadershipEvent[] = [];
    const watching = (async () => {
      for await (const e of client.watch('tls/')) {
        events.push(e);
        if (events.length >= 2) break;
      }
    })();
    const lease = await client.acquire('tls/acquired', { ttlMs: 10_000 });
    expect(lease).not.toBeNull();
    const elected = await client.campaign('tls/campaigned', { ttlMs: 10_000, candidateId: 'c2' });
    expect(elected.scope).toBe('tls/campaigned');
    await watching;
    expect(events.map((e) => e.scope).sort()).toEqual(['tls/acquired', 'tls/campaigned']);
    await lease!.resign();
    await elected.resign();
  });

  it('fails with UNAVAILABLE when the client does not trust the cluster CA', async () => {
    const client = solo.client({
      tls: { ...trusted(), ca: readFileSync(pki.foreignCa) },
      callTimeoutMs: 1500,
    });
    const e = await rejectionOf(client.status());
    expect(e.code).toBe('UNAVAILABLE');
  });

  it('fails with UNAVAILABLE when the client presents no certificate to a port with a client CA', async () => {
    const client = solo.client({ tls: { ca: readFileSync(pki.ca) }, callTimeoutMs: 1500 });
    const e = await rejectionOf(client.status());
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toMatch(/certificate required/);
  });

  it('fails with UNAVAILABLE when a plaintext client dials the TLS port', async () => {
    const client = solo.client({ callTimeoutMs: 1500 });
    const e = await rejectionOf(client.status());
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toMatch(/cannot reach 127\.0\.0\.1:\d+/);
  });
});
