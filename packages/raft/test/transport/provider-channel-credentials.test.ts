import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { issueNode } from '@omnirelay/certs';
import { ProviderChannelCredentials } from '../../src/index';
import { nodeTlsFiles, probeOnce, probeUntilServed, useTlsPeer } from './transport-test-helpers';

type CaUpdate = grpc.experimental.CaCertificateUpdate;
type IdentityUpdate = grpc.experimental.IdentityCertificateUpdate;

/** HeldReadings is a certificate provider that hands out what the test set, as LastUsableCertificates does. */
class HeldReadings implements grpc.experimental.CertificateProvider {
  private readonly ca = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private readonly identity = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  constructor(
    private caReading: CaUpdate | null,
    private identityReading: IdentityUpdate | null,
  ) {}
  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.ca.add(l);
    process.nextTick(l, this.caReading);
  }
  removeCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.ca.delete(l);
  }
  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identity.add(l);
    process.nextTick(l, this.identityReading);
  }
  removeIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identity.delete(l);
  }
  /** rotate passes on a new identity to every listener. */
  rotate(identity: IdentityUpdate): void {
    this.identityReading = identity;
    for (const l of this.identity) l(identity);
  }
}

/** noServerCheck accepts any server certificate from the CA (these tests are about the client side). */
const noServerCheck = { checkServerIdentity: (): undefined => undefined };

describe('ProviderChannelCredentials (TLS channel credentials with one context per reading)', () => {
  jest.setTimeout(60_000);
  const tlsPeer = useTlsPeer();
  let ca: CaUpdate;
  let first: IdentityUpdate;
  let second: IdentityUpdate;

  beforeAll(async () => {
    const dir = tlsPeer.dir();
    await issueNode({ caDir: dir, outDir: join(dir, 'second'), id: 'a', clusterId: 'c1' });
    const files = nodeTlsFiles(dir, 'a');
    ca = { caCertificate: readFileSync(files.caFile) };
    first = { certificate: readFileSync(files.certFile), privateKey: readFileSync(files.keyFile) };
    const again = nodeTlsFiles(join(dir, 'second'), 'a');
    second = { certificate: readFileSync(again.certFile), privateKey: readFileSync(again.keyFile) };
  });

  it('connects with a rotated certificate from the next connection on', async () => {
    const readings = new HeldReadings(ca, first);
    const credentials = new ProviderChannelCredentials(readings, noServerCheck);
    expect(await probeUntilServed(tlsPeer.peer().address, () => credentials)).toBeNull();
    expect(credentials.contextsBuilt).toBe(1);
    readings.rotate(second);
    expect(await probeOnce(tlsPeer.peer().address, credentials)).toBeNull();
    expect(credentials.contextsBuilt).toBe(2);
  });

  it('fails a connection with the reason when the provider passed on an unreadable reading', async () => {
    const credentials = new ProviderChannelCredentials(new HeldReadings(null, first), noServerCheck);
    const error = await probeOnce(tlsPeer.peer().address, credentials);
    expect(error?.details).toMatch(/TLS credentials are not usable: the CA bundle could not be read/);
    expect(credentials.contextsBuilt).toBe(0);
  });

  it('fails a connection with the reason when the key is not the certificate’s', async () => {
    const halfway = { certificate: first.certificate, privateKey: second.privateKey };
    const credentials = new ProviderChannelCredentials(new HeldReadings(ca, halfway), noServerCheck);
    const error = await probeOnce(tlsPeer.peer().address, credentials);
    expect(error?.details).toMatch(/TLS credentials are not usable: .*key values mismatch/);
  });
});
