import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { issueCa, issueNode } from '@omnirelay/certs';
import { LastUsableCertificates } from '../../src/transport/last-usable-certificates';

type CaUpdate = grpc.experimental.CaCertificateUpdate;
type IdentityUpdate = grpc.experimental.IdentityCertificateUpdate;

/** FakeSource stands for the file watcher: the test says what each refresh read. */
class FakeSource implements grpc.experimental.CertificateProvider {
  readonly ca = new Set<grpc.experimental.CaCertificateUpdateListener>();
  readonly identity = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.ca.add(l);
  }
  removeCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.ca.delete(l);
  }
  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identity.add(l);
  }
  removeIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identity.delete(l);
  }
  read(ca: CaUpdate | null, identity: IdentityUpdate | null): void {
    for (const l of this.ca) l(ca);
    for (const l of this.identity) l(identity);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'omnirelay-last-usable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let ca: Buffer;
let first: IdentityUpdate;
let second: IdentityUpdate;
beforeAll(async () => {
  await issueCa({ outDir: dir, clusterId: 'omnirelay' });
  await issueNode({ caDir: dir, outDir: join(dir, 'first'), id: 'n1', clusterId: 'omnirelay' });
  await issueNode({ caDir: dir, outDir: join(dir, 'second'), id: 'n1', clusterId: 'omnirelay' });
  ca = readFileSync(join(dir, 'ca.crt'));
  const pair = (sub: string): IdentityUpdate => ({
    certificate: readFileSync(join(dir, sub, 'n1.crt')),
    privateKey: readFileSync(join(dir, sub, 'n1.key')),
  });
  first = pair('first');
  second = pair('second');
});

/** watch subscribes to `provider` and returns what it passed on, in order. */
function watch(provider: LastUsableCertificates): {
  cas: Array<CaUpdate | null>;
  identities: Array<IdentityUpdate | null>;
  stop: () => void;
} {
  const cas: Array<CaUpdate | null> = [];
  const identities: Array<IdentityUpdate | null> = [];
  const onCa = (u: CaUpdate | null): number => cas.push(u);
  const onIdentity = (u: IdentityUpdate | null): number => identities.push(u);
  provider.addCaCertificateListener(onCa);
  provider.addIdentityCertificateListener(onIdentity);
  return {
    cas,
    identities,
    stop: () => {
      provider.removeCaCertificateListener(onCa);
      provider.removeIdentityCertificateListener(onIdentity);
    },
  };
}

describe('LastUsableCertificates (what the peer port installs from its files)', () => {
  it('passes usable readings on, a rotated pair included', () => {
    const source = new FakeSource();
    const seen = watch(new LastUsableCertificates(source, () => undefined));
    source.read({ caCertificate: ca }, first);
    source.read({ caCertificate: Buffer.concat([ca, ca]) }, second);
    expect(seen.cas).toEqual([{ caCertificate: ca }, { caCertificate: Buffer.concat([ca, ca]) }]);
    expect(seen.identities).toEqual([first, second]);
  });

  it('keeps the last usable pair when the key is not the certificate’s, and says so once', () => {
    const source = new FakeSource();
    const reasons: string[] = [];
    const seen = watch(new LastUsableCertificates(source, (r) => reasons.push(r)));
    source.read({ caCertificate: ca }, first);
    const halfway = { certificate: first.certificate, privateKey: second.privateKey };
    source.read({ caCertificate: ca }, halfway);
    source.read({ caCertificate: ca }, halfway);
    expect(seen.identities).toEqual([first]);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/^the key is not the key of the certificate \(serial [0-9a-f]+\); keeping/);
    source.read({ caCertificate: ca }, second);
    expect(seen.identities).toEqual([first, second]);
  });

  it('keeps the last usable CA bundle when it cannot be read or holds no certificate', () => {
    const source = new FakeSource();
    const reasons: string[] = [];
    const seen = watch(new LastUsableCertificates(source, (r) => reasons.push(r)));
    source.read({ caCertificate: ca }, first);
    source.read(null, first);
    source.read({ caCertificate: Buffer.from('') }, null);
    source.read(
      { caCertificate: Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') },
      first,
    );
    expect(seen.cas).toEqual([{ caCertificate: ca }]);
    expect(seen.identities).toEqual([first]);
    expect(reasons).toEqual([
      'the CA bundle could not be read; keeping the CA bundle read before',
      'the CA bundle holds no PEM certificate; keeping the CA bundle read before',
      'the certificate or key could not be read; keeping the certificate and key read before',
      expect.stringMatching(/^the CA bundle holds a certificate that does not parse/),
    ]);
  });

  it('passes on a reading identical to the last one only once, however often the files are re-read', () => {
    const source = new FakeSource();
    const reasons: string[] = [];
    const seen = watch(new LastUsableCertificates(source, (r) => reasons.push(r)));
    // Equal bytes in other buffers, as each refresh of the file watcher reads them anew.
    const copy = (u: IdentityUpdate): IdentityUpdate => ({
      certificate: Buffer.from(u.certificate),
      privateKey: Buffer.from(u.privateKey),
    });
    for (let refresh = 0; refresh < 10; refresh++)
      source.read({ caCertificate: Buffer.from(ca) }, copy(first));
    expect({ cas: seen.cas, identities: seen.identities }).toEqual({
      cas: [{ caCertificate: ca }],
      identities: [first],
    });
    // A change still goes through, and so does a problem after an unchanged reading, each time it recurs.
    source.read({ caCertificate: ca }, second);
    source.read({ caCertificate: ca }, null);
    source.read({ caCertificate: ca }, second);
    source.read({ caCertificate: ca }, null);
    expect(seen.identities).toEqual([first, second]);
    expect(reasons).toEqual([
      'the certificate or key could not be read; keeping the certificate and key read before',
      'the certificate or key could not be read; keeping the certificate and key read before',
    ]);
  });

  it('passes a failure on while nothing usable was ever read, so a node never serves half an identity', () => {
    const source = new FakeSource();
    const seen = watch(new LastUsableCertificates(source, () => undefined));
    source.read(null, { certificate: first.certificate, privateKey: second.privateKey });
    expect({ cas: seen.cas, identities: seen.identities }).toEqual({ cas: [null], identities: [null] });
  });

  it('stops listening to the files when its last listener goes, and hands a new one the last usable reading', async () => {
    const source = new FakeSource();
    const provider = new LastUsableCertificates(source, () => undefined);
    const seen = watch(provider);
    source.read({ caCertificate: ca }, first);
    seen.stop();
    expect({ ca: source.ca.size, identity: source.identity.size }).toEqual({ ca: 0, identity: 0 });
    const again = watch(provider);
    await new Promise((r) => process.nextTick(r));
    expect({ cas: again.cas, identities: again.identities }).toEqual({
      cas: [{ caCertificate: ca }],
      identities: [first],
    });
    again.stop();
  });
});
