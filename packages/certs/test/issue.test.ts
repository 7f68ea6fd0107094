import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertErrorCode } from '../src/cert-error';
import { isCertError } from '../src/cert-error';
import { identityFromUris } from '../src/identity';
import { issueCa, issueClient, issueNode } from '../src/issue';
import { LEAF_DAYS_DEFAULT, NOT_BEFORE_BACKDATE_MS } from '../src/validity';
import { x509 } from '../src/x509';
import { useTempDir } from './support/temp-dir';

const DAY_MS = 86_400_000;
const tempDir = useTempDir('cert');

function certificateAt(path: string): X509Certificate {
  return new X509Certificate(readFileSync(path));
}

/** sanUris lists a certificate's URI SANs, in order, through the X.509 library's parser. */
function sanUris(path: string): string[] {
  const ext = new x509.X509Certificate(readFileSync(path, 'utf8')).getExtension(
    x509.SubjectAlternativeNameExtension,
  );
  return (ext?.names.items ?? []).filter((n) => n.type === 'url').map((n) => n.value);
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

async function expectCertError(
  promise: Promise<unknown>,
  code: CertErrorCode,
  message: RegExp,
): Promise<void> {
  const e: unknown = await promise.then(
    () => new Error('expected a CertError, but the call succeeded'),
    (error: unknown) => error,
  );
  if (!isCertError(e, code)) throw e;
  expect(`${e.message}; ${e.next}`).toMatch(message);
}

describe('issueCa', () => {
  it('makes a self-signed P-256 CA with cA=true, keyCertSign and cRLSign, the key mode 0600', async () => {
    const files = await issueCa({ outDir: tempDir(), clusterId: 'prod-1' });
    expect(files.certPath).toBe(join(tempDir(), 'ca.crt'));
    expect(files.keyPath).toBe(join(tempDir(), 'ca.key'));
    const ca = certificateAt(files.certPath);
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.subject).toBe('CN=OmniRelay CA prod-1\nO=OmniRelay\nOU=prod-1');
    expect(ca.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(ca.serialNumber.toLowerCase()).toBe(files.serialNumber);

    const parsed = new x509.X509Certificate(readFileSync(files.certPath, 'utf8'));
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    expect(constraints).toMatchObject({ ca: true, pathLength: 0, critical: true });
    expect(parsed.getExtension(x509.KeyUsagesExtension)).toMatchObject({
      usages: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
      critical: true,
    });

    const key = createPrivateKey(readFileSync(files.keyPath));
    expect(key.asymmetricKeyType).toBe('ec');
    expect(readFileSync(files.keyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(modeOf(files.keyPath)).toBe(0o600);
    expect(modeOf(files.certPath)).toBe(0o644);
  });

  it('takes the name, and the validity window from days or from the dates given', async () => {
    const before = Date.now();
    const a = await issueCa({ outDir: join(tempDir(), 'a'), clusterId: 'c', name: 'Test CA', days: 30 });
    const ca = certificateAt(a.certPath);
    expect(ca.subject).toMatch(/^CN=Test CA\n/);
    expect(a.notBefore.getTime()).toBeGreaterThanOrEqual(before - NOT_BEFORE_BACKDATE_MS - 1000);
    expect(a.notAfter.getTime() - a.notBefore.getTime()).toBe(30 * DAY_MS + NOT_BEFORE_BACKDATE_MS);
    expect(new Date(ca.validTo)).toEqual(a.notAfter);
    expect(new Date(ca.validFrom)).toEqual(a.notBefore);

    const notBefore = new Date('2030-01-01T00:00:00Z');
    const notAfter = new Date('2031-01-01T00:00:00Z');
    const b = await issueCa({ outDir: join(tempDir(), 'b'), clusterId: 'c', notBefore, notAfter });
    expect(new Date(certificateAt(b.certPath).validFrom)).toEqual(notBefore);
    expect(new Date(certificateAt(b.certPath).validTo)).toEqual(notAfter);
  });

  it('gives each certificate a random serial number', async () => {
    const a = await issueCa({ outDir: join(tempDir(), 'a'), clusterId: 'c' });
    const b = await issueCa({ outDir: join(tempDir(), 'b'), clusterId: 'c' });
    expect(a.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(a.serialNumber).not.toBe(b.serialNumber);
  });

  it('creates a missing output folder with mode 0700', async () => {
    const outDir = join(tempDir(), 'deep', 'certs');
    await issueCa({ outDir, clusterId: 'c' });
    expect(modeOf(outDir)).toBe(0o700);
  });

  it('refuses to overwrite an existing CA, and writes nothing', async () => {
    const first = await issueCa({ outDir: tempDir(), clusterId: 'c' });
    const before = readFileSync(first.certPath, 'utf8');
    await expectCertError(issueCa({ outDir: tempDir(), clusterId: 'c' }), 'ALREADY_EXISTS', /ca\.key exists/);
    expect(readFileSync(first.certPath, 'utf8')).toBe(before);
    expect(readdirSync(tempDir()).sort()).toEqual(['ca.crt', 'ca.key']);
  });

  it('refuses when only the certificate exists', async () => {
    writeFileSync(join(tempDir(), 'ca.crt'), 'old');
    await expectCertError(issueCa({ outDir: tempDir(), clusterId: 'c' }), 'ALREADY_EXISTS', /ca\.crt exists/);
    expect(existsSync(join(tempDir(), 'ca.key'))).toBe(false);
  });

  it('overwrites when asked, leaving the key mode 0600 even if the old file was 0644', async () => {
    const first = await issueCa({ outDir: tempDir(), clusterId: 'c' });
    chmodSync(first.keyPath, 0o644);
    const second = await issueCa({ outDir: tempDir(), clusterId: 'c', overwrite: true });
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(certificateAt(second.certPath).serialNumber.toLowerCase()).toBe(second.serialNumber);
    expect(modeOf(second.keyPath)).toBe(0o600);
    expect(modeOf(second.certPath)).toBe(0o644);
    expect(readdirSync(tempDir()).sort()).toEqual(['ca.crt', 'ca.key']);
  });

  it.each([
    ['an empty cluster id', { clusterId: '' }, /the cluster id is empty/],
    ['a cluster id that would change the URI', { clusterId: 'a/b' }, /cluster id "a\/b" cannot be put/],
    ['an empty name', { name: '  ' }, /CA name " {2}" is not valid/],
    ['a name past 64 characters', { name: 'x'.repeat(65) }, /CA name/],
    ['0 days', { days: 0 }, /days 0 is out of range/],
    ['3651 days', { days: 3651 }, /days 3651 is out of range/],
    ['fractional days', { days: 1.5 }, /days 1.5 is out of range/],
    ['days and notAfter', { days: 1, notAfter: new Date('2040-01-01') }, /both days and notAfter/],
    ['an invalid date', { notAfter: new Date('nope') }, /notAfter is not a valid date/],
    [
      'notBefore after notAfter',
      { notBefore: new Date('2031-01-01'), notAfter: new Date('2030-01-01') },
      /notBefore 2031-01-01T00:00:00.000Z is not before notAfter 2030-01-01T00:00:00.000Z/,
    ],
    [
      'notBefore equal to notAfter',
      { notBefore: new Date('2030-01-01'), notAfter: new Date('2030-01-01') },
      /is not before notAfter/,
    ],
  ])('refuses %s with INVALID_ARGUMENT and writes nothing', async (_name, options, message) => {
    await expectCertError(
      issueCa({ outDir: tempDir(), clusterId: 'c', ...options }),
      'INVALID_ARGUMENT',
      message,
    );
    expect(readdirSync(tempDir())).toEqual([]);
  });
});

describe('issueNode', () => {
  it('issues a node certificate that verifies against the CA, for server and client use', async () => {
    const ca = await issueCa({ outDir: tempDir(), clusterId: 'prod-1' });
    const files = await issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n1', clusterId: 'prod-1' });
    expect(files.certPath).toBe(join(tempDir(), 'n1.crt'));
    expect(files.keyPath).toBe(join(tempDir(), 'n1.key'));
    const caCert = certificateAt(ca.certPath);
    const cert = certificateAt(files.certPath);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('CN=n1\nO=OmniRelay\nOU=prod-1');
    expect(cert.subjectAltName).toBe('URI:spiffe://prod-1/node/n1, DNS:localhost, IP Address:127.0.0.1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(modeOf(files.keyPath)).toBe(0o600);
    expect(modeOf(files.certPath)).toBe(0o644);
    expect(identityFromUris(sanUris(files.certPath))).toEqual({
      kind: 'node',
      clusterId: 'prod-1',
      name: 'n1',
      roles: [],
      scopePrefixes: [],
    });

    const parsed = new x509.X509Certificate(readFileSync(files.certPath, 'utf8'));
    expect(parsed.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: false, critical: true });
    expect(parsed.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    const caParsed = new x509.X509Certificate(readFileSync(ca.certPath, 'utf8'));
    expect(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(
      caParsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    expect(createPrivateKey(readFileSync(files.keyPath)).asymmetricKeyType).toBe('ec');
  });

  it('puts the DNS names and IP addresses given in place of the defaults', async () => {
    await issueCa({ outDir: tempDir(), clusterId: 'c' });
    const files = await issueNode({
      caDir: tempDir(),
      outDir: join(tempDir(), 'nodes'),
      id: 'node-2.eu_west',
      clusterId: 'c',
      dns: ['node-2.omnirelay.svc', '*.omnirelay.svc', 'node-2.omnirelay.svc'],
      ips: ['10.0.0.7', '::1'],
    });
    expect(certificateAt(files.certPath).subjectAltName).toBe(
      'URI:spiffe://c/node/node-2.eu_west, DNS:node-2.omnirelay.svc, DNS:*.omnirelay.svc, IP Address:10.0.0.7, IP Address:0:0:0:0:0:0:0:1',
    );
  });

  it('ends a default window with its CA, and validates from days or the dates given', async () => {
    const ca = await issueCa({ outDir: tempDir(), clusterId: 'c', days: 30 });
    const clamped = await issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n1', clusterId: 'c' });
    expect(clamped.notAfter).toEqual(ca.notAfter);
    const sevenDays = await issueNode({
      caDir: tempDir(),
      outDir: tempDir(),
      id: 'n2',
      clusterId: 'c',
      days: 7,
    });
    expect(sevenDays.notAfter.getTime() - sevenDays.notBefore.getTime()).toBe(
      7 * DAY_MS + NOT_BEFORE_BACKDATE_MS,
    );
    const notBefore = new Date(Date.now() - 2 * DAY_MS);
    const notAfter = new Date(Date.now() - DAY_MS);
    await issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n3', clusterId: 'c', notBefore, notAfter });
    const expired = certificateAt(join(tempDir(), 'n3.crt'));
    expect(new Date(expired.validTo).getTime()).toBe(Math.floor(notAfter.getTime() / 1000) * 1000);
    expect(new Date(expired.validFrom).getTime()).toBe(Math.floor(notBefore.getTime() / 1000) * 1000);
  });

  it('defaults to LEAF_DAYS_DEFAULT days under a longer-lived CA', async () => {
    await issueCa({ outDir: tempDir(), clusterId: 'c' });
    const files = await issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n1', clusterId: 'c' });
    expect(files.notAfter.getTime() - files.notBefore.getTime()).toBe(
      LEAF_DAYS_DEFAULT * DAY_MS + NOT_BEFORE_BACKDATE_MS,
    );
  });

  it('refuses days that outlive the CA', async () => {
    await issueCa({ outDir: tempDir(), clusterId: 'c', days: 30 });
    await expectCertError(
      issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n1', clusterId: 'c', days: 31 }),
      'INVALID_ARGUMENT',
      /after its CA \(.*ca\.crt\) expires at/,
    );
  });

  it('refuses a default window under an expired CA', async () => {
    await issueCa({
      outDir: tempDir(),
      clusterId: 'c',
      notBefore: new Date(Date.now() - 2 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    await expectCertError(
      issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n1', clusterId: 'c' }),
      'INVALID_ARGUMENT',
      /the CA in .*ca\.crt expired at/,
    );
  });

  it.each([
    ['an empty id', { id: '' }, /node id "" is not valid/],
    ['an id with a slash', { id: 'n/1' }, /node id "n\/1" is not valid/],
    ['an id starting with a dot', { id: '.n1' }, /node id ".n1"/],
    ['an id past 63 characters', { id: 'n'.repeat(64) }, /node id/],
    ['an empty cluster id', { clusterId: '' }, /the cluster id is empty/],
    ['a DNS name with a space', { dns: ['a b'] }, /DNS name "a b" is not a host name/],
    ['an empty DNS name', { dns: [''] }, /DNS name "" is not a host name/],
    ['a DNS label past 63 characters', { dns: [`${'a'.repeat(64)}.example`] }, /is not a host name/],
    ['a bad IP address', { ips: ['300.1.1.1'] }, /IP address "300.1.1.1" is not valid/],
    ['a host name as IP', { ips: ['localhost'] }, /IP address "localhost"/],
    ['33 DNS names', { dns: Array.from({ length: 33 }, (_, i) => `n${i}.example`) }, /33 DNS names given/],
    ['0 days', { days: 0 }, /days 0 is out of range/],
    ['an empty output folder', { outDir: '' }, /--out is empty/],
    ['an empty CA folder', { caDir: '' }, /--ca is empty/],
    ['the id ca, in the CA folder', { id: 'ca' }, /would overwrite the CA's files/],
  ])('refuses %s with INVALID_ARGUMENT and writes nothing', async (_name, options, message) => {
    await issueCa({ outDir: tempDir(), clusterId: 'c' });
    await expectCertError(
      issueNode({
        caDir: tempDir(),
        outDir: tempDir(),
        id: 'n1',
        clusterId: 'c',
        overwrite: true,
        ...options,
      }),
      'INVALID_ARGUMENT',
      message,
    );
    expect(readdirSync(tempDir()).sort()).toEqual(['ca.crt', 'ca.key']);
  });

  it('refuses a folder without a CA with NOT_FOUND', async () => {
    await expectCertError(
      issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n1', clusterId: 'c' }),
      'NOT_FOUND',
      /ca\.crt does not exist/,
    );
  });

  it('refuses a CA folder whose key is missing with NOT_FOUND, and an empty key with INVALID_CA', async () => {
    const ca = await issueCa({ outDir: tempDir(), clusterId: 'c' });
    rmSync(ca.keyPath);
    await expectCertError(
      issueNode({ caDir: tempDir(), outDir: join(tempDir(), 'x'), id: 'n1', clusterId: 'c' }),
      'NOT_FOUND',
      /ca\.key does not exist; issue a CA first/,
    );
    writeFileSync(ca.keyPath, '');
    await expectCertError(
      issueNode({ caDir: tempDir(), outDir: join(tempDir(), 'x'), id: 'n1', clusterId: 'c' }),
      'INVALID_CA',
      /ca\.key is not an ECDSA P-256 private key/,
    );
  });

  it("refuses a certificate that is not a CA, or a key that is not the CA's, with INVALID_CA", async () => {
    const one = join(tempDir(), 'one');
    const two = join(tempDir(), 'two');
    const fake = join(tempDir(), 'fake');
    await issueCa({ outDir: one, clusterId: 'c' });
    await issueCa({ outDir: two, clusterId: 'c' });
    writeFileSync(join(one, 'ca.key'), readFileSync(join(two, 'ca.key')));
    await expectCertError(
      issueNode({ caDir: one, outDir: tempDir(), id: 'n1', clusterId: 'c' }),
      'INVALID_CA',
      /one\/ca\.key is not the key of .*one\/ca\.crt/,
    );

    const node = await issueNode({ caDir: two, outDir: two, id: 'n1', clusterId: 'c' });
    await issueNode({ caDir: two, outDir: fake, id: 'n2', clusterId: 'c' });
    writeFileSync(join(fake, 'ca.crt'), readFileSync(node.certPath));
    writeFileSync(join(fake, 'ca.key'), readFileSync(node.keyPath));
    await expectCertError(
      issueNode({ caDir: fake, outDir: tempDir(), id: 'n3', clusterId: 'c' }),
      'INVALID_CA',
      /is not a CA certificate/,
    );

    writeFileSync(join(fake, 'ca.crt'), 'not a certificate');
    await expectCertError(
      issueNode({ caDir: fake, outDir: tempDir(), id: 'n3', clusterId: 'c' }),
      'INVALID_CA',
      /is not a PEM certificate/,
    );
    expect(existsSync(join(tempDir(), 'n1.crt'))).toBe(false);
  });

  it('refuses to overwrite an existing node certificate unless asked', async () => {
    await issueCa({ outDir: tempDir(), clusterId: 'c' });
    const first = await issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n1', clusterId: 'c' });
    await expectCertError(
      issueNode({ caDir: tempDir(), outDir: tempDir(), id: 'n1', clusterId: 'c' }),
      'ALREADY_EXISTS',
      /n1\.key exists/,
    );
    chmodSync(first.keyPath, 0o644);
    const second = await issueNode({
      caDir: tempDir(),
      outDir: tempDir(),
      id: 'n1',
      clusterId: 'c',
      overwrite: true,
    });
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(modeOf(second.keyPath)).toBe(0o600);
    expect(readdirSync(tempDir()).sort()).toEqual(['ca.crt', 'ca.key', 'n1.crt', 'n1.key']);
  });
});

describe('issueClient', () => {
  it('issues a client-only certificate naming the client, its roles and its scope prefixes', async () => {
    const ca = await issueCa({ outDir: tempDir(), clusterId: 'prod-1' });
    const files = await issueClient({
      caDir: tempDir(),
      outDir: tempDir(),
      name: 'orders',
      clusterId: 'prod-1',
      roles: ['mesh.read', 'mesh.operate', 'mesh.read'],
      scopePrefixes: ['shard/orders/', 'global-control'],
    });
    expect(files.certPath).toBe(join(tempDir(), 'orders.crt'));
    const caCert = certificateAt(ca.certPath);
    const cert = certificateAt(files.certPath);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.subject).toBe('CN=orders\nO=OmniRelay\nOU=prod-1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(sanUris(files.certPath)).toEqual([
      'spiffe://prod-1/client/orders',
      'omnirelay:role:mesh.read',
      'omnirelay:role:mesh.operate',
      'omnirelay:scope:shard/orders/',
      'omnirelay:scope:global-control',
    ]);
    expect(identityFromUris(sanUris(files.certPath))).toEqual({
      kind: 'client',
      clusterId: 'prod-1',
      name: 'orders',
      roles: ['mesh.read', 'mesh.operate'],
      scopePrefixes: ['shard/orders/', 'global-control'],
    });
    expect(cert.checkHost('localhost')).toBeUndefined();
    expect(modeOf(files.keyPath)).toBe(0o600);
    expect(modeOf(files.certPath)).toBe(0o644);
  });

  it('issues a client with no roles and no scope prefixes', async () => {
    await issueCa({ outDir: tempDir(), clusterId: 'c' });
    const files = await issueClient({ caDir: tempDir(), outDir: tempDir(), name: 'reader', clusterId: 'c' });
    expect(sanUris(files.certPath)).toEqual(['spiffe://c/client/reader']);
  });

  it('issues a client granted every scope with the scope prefix *', async () => {
    await issueCa({ outDir: tempDir(), clusterId: 'c' });
    const files = await issueClient({
      caDir: tempDir(),
      outDir: tempDir(),
      name: 'ops',
      clusterId: 'c',
      scopePrefixes: ['*'],
    });
    expect(sanUris(files.certPath)).toEqual(['spiffe://c/client/ops', 'omnirelay:scope:*']);
  });

  it.each([
    ['an empty name', { name: '' }, /client name "" is not valid/],
    [
      'a scope prefix with a * inside',
      { scopePrefixes: ['shard/*'] },
      /scope prefix "shard\/\*" is not valid/,
    ],
    ['a name with a colon', { name: 'a:b' }, /client name "a:b"/],
    [
      'an unknown role',
      { roles: ['mesh.reed'] },
      /role "mesh.reed" is not a role; .*mesh\.read, mesh\.operate, mesh\.admin/,
    ],
    ['an empty role', { roles: [''] }, /role "" is not a role/],
    ['an uppercase scope prefix', { scopePrefixes: ['Shard/'] }, /scope prefix "Shard\/" is not valid/],
    ['an empty scope prefix', { scopePrefixes: [''] }, /scope prefix "" is not valid/],
    ['a scope prefix starting with /', { scopePrefixes: ['/x'] }, /scope prefix "\/x"/],
    ['a scope prefix past 253 characters', { scopePrefixes: ['a'.repeat(254)] }, /scope prefix/],
    [
      '65 scope prefixes',
      { scopePrefixes: Array.from({ length: 65 }, (_, i) => `p${i}/`) },
      /65 scope prefixes given \(at most 64\)/,
    ],
  ])('refuses %s with INVALID_ARGUMENT and writes nothing', async (_name, options, message) => {
    await issueCa({ outDir: tempDir(), clusterId: 'c' });
    await expectCertError(
      issueClient({ caDir: tempDir(), outDir: tempDir(), name: 'orders', clusterId: 'c', ...options }),
      'INVALID_ARGUMENT',
      message,
    );
    expect(readdirSync(tempDir()).sort()).toEqual(['ca.crt', 'ca.key']);
  });
});
