import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCa, issueClient } from '@omnirelay/certs';
import { ADMIN_CLIENT_NAME, PKI_REMAINING_MS_MIN, ensureLocalPki } from '../../src/local-cluster/local-pki';

jest.setTimeout(30_000);

let root = '';
let dir = '';
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'omnirelay-pki-'));
  dir = join(root, 'pki');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const certAt = (path: string): X509Certificate => new X509Certificate(readFileSync(path));
const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe('ensureLocalPki', () => {
  it('issues a CA, a certificate per node and the admin certificate, keys mode 0600', async () => {
    const pki = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1', 'n2'] });
    expect(pki.issued).toHaveLength(4);
    expect(modeOf(dir)).toBe(0o700);
    const ca = certAt(pki.caFile);
    for (const id of ['n1', 'n2']) {
      const files = pki.nodes.get(id)!;
      const cert = certAt(files.certFile);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.subjectAltName).toBe(
        `URI:spiffe://omnirelay/node/${id}, DNS:localhost, IP Address:127.0.0.1`,
      );
      expect(modeOf(files.keyFile)).toBe(0o600);
    }
    const admin = certAt(pki.admin.certFile);
    expect(admin.checkIssued(ca)).toBe(true);
    expect(admin.subjectAltName).toBe(
      `URI:spiffe://omnirelay/client/${ADMIN_CLIENT_NAME}, URI:omnirelay:role:mesh.read, ` +
        'URI:omnirelay:role:mesh.operate, URI:omnirelay:role:mesh.admin, URI:omnirelay:scope:*',
    );
    expect(modeOf(pki.admin.keyFile)).toBe(0o600);
    expect(modeOf(join(dir, 'ca.key'))).toBe(0o600);
  });

  it('reuses everything still valid, byte for byte, and issues only a new node', async () => {
    const first = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    const before = [first.caFile, first.nodes.get('n1')!.certFile, first.admin.certFile].map((f) =>
      readFileSync(f, 'utf8'),
    );
    const second = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1', 'n2'] });
    expect(second.issued).toEqual([`${join(dir, 'n2.crt')}: issued (it is missing)`]);
    const after = [second.caFile, second.nodes.get('n1')!.certFile, second.admin.certFile].map((f) =>
      readFileSync(f, 'utf8'),
    );
    expect(after).toEqual(before);
  });

  it('issues a new CA and every certificate again when the CA expires within the minimum', async () => {
    const first = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    const caEnd = new Date(certAt(first.caFile).validTo).getTime();
    const caBefore = readFileSync(first.caFile, 'utf8');
    const later = await ensureLocalPki({
      dir,
      clusterId: 'omnirelay',
      nodeIds: ['n1'],
      nowMs: caEnd - PKI_REMAINING_MS_MIN + 60_000,
    });
    expect(later.issued).toHaveLength(3);
    expect(later.issued[0]).toMatch(/ca\.crt: a new CA \(it expires at /);
    expect(readFileSync(later.caFile, 'utf8')).not.toBe(caBefore);
    expect(certAt(later.nodes.get('n1')!.certFile).checkIssued(certAt(later.caFile))).toBe(true);
  });

  it('issues the certificates again when another CA took the old one’s place', async () => {
    await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    await issueCa({ outDir: dir, clusterId: 'omnirelay', overwrite: true });
    const again = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    expect(again.issued).toEqual([
      `${join(dir, 'n1.crt')}: issued (it was not signed by the CA in ${join(dir, 'ca.crt')})`,
      `${join(dir, 'admin.crt')}: issued (it was not signed by the CA in ${join(dir, 'ca.crt')})`,
    ]);
  });

  it('issues a key again when others can read it, and a CA whose key others can read', async () => {
    const first = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    chmodSync(first.nodes.get('n1')!.keyFile, 0o644);
    const again = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    expect(again.issued).toEqual([`${join(dir, 'n1.crt')}: issued (${join(dir, 'n1.key')} has mode 0644)`]);
    expect(modeOf(first.nodes.get('n1')!.keyFile)).toBe(0o600);

    chmodSync(join(dir, 'ca.key'), 0o640);
    const newCa = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    expect(newCa.issued[0]).toBe(`${join(dir, 'ca.crt')}: a new CA (${join(dir, 'ca.key')} has mode 0640)`);
    expect(modeOf(join(dir, 'ca.key'))).toBe(0o600);
  });

  it('issues the admin certificate again when its roles are not every role', async () => {
    await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    await issueClient({
      outDir: dir,
      caDir: dir,
      clusterId: 'omnirelay',
      name: ADMIN_CLIENT_NAME,
      roles: ['mesh.read'],
      scopePrefixes: ['*'],
      overwrite: true,
    });
    const again = await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    expect(again.issued).toHaveLength(1);
    expect(again.issued[0]).toMatch(/admin\.crt: issued \(its names \(.*\) are not the ones asked for\)$/);
  });

  it('issues the node certificates again for another cluster id', async () => {
    await ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['n1'] });
    const other = await ensureLocalPki({ dir, clusterId: 'other', nodeIds: ['n1'] });
    expect(other.issued).toHaveLength(2);
    expect(certAt(other.nodes.get('n1')!.certFile).subjectAltName).toMatch(
      /^URI:spiffe:\/\/other\/node\/n1,/,
    );
  });

  it('refuses a bad node id with the CertError of the issuer', async () => {
    await expect(
      ensureLocalPki({ dir, clusterId: 'omnirelay', nodeIds: ['no/slash'] }),
    ).rejects.toMatchObject({
      name: 'CertError',
      code: 'INVALID_ARGUMENT',
      message: 'node id "no/slash" is not valid',
    });
  });
});
