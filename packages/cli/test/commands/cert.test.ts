import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expectOneErrorLine, runCliInProcess } from '../support/run-cli';
import { useTempDir } from '../../../certs/test/support/temp-dir';

const tempDir = useTempDir('cert-cli');

function certificateAt(path: string): X509Certificate {
  return new X509Certificate(readFileSync(path));
}

describe('omnirelay cert issue', () => {
  it('makes a CA, a node and a client certificate, one line per written file', async () => {
    const out = tempDir();
    const ca = await runCliInProcess(['cert', 'issue', 'ca', '--out', out, '--cluster-id', 'prod']);
    expect(ca.stderr).toBe('');
    expect(ca.code).toBe(0);
    const caLines = ca.stdout.trimEnd().split('\n');
    expect(caLines).toHaveLength(2);
    expect(caLines[0]).toBe(`wrote ${join(out, 'ca.key')} (private key, mode 0600)`);
    expect(caLines[1]).toMatch(
      new RegExp(
        `^wrote ${join(out, 'ca.crt')} \\(CA certificate for cluster prod; serial [0-9a-f]{32}; valid \\S+ to \\S+\\)$`,
      ),
    );

    const node = await runCliInProcess([
      'cert',
      'issue',
      'node',
      '--out',
      join(out, 'nodes'),
      '--ca',
      out,
      '--cluster-id',
      'prod',
      '--id',
      'n1',
      '--dns',
      'n1.prod.svc,localhost',
      '--dns',
      'n1.example',
      '--ip',
      '127.0.0.1',
      '--ip',
      '10.1.2.3',
    ]);
    expect(node.stderr).toBe('');
    expect(node.code).toBe(0);
    expect(node.stdout).toMatch(/\(node certificate for spiffe:\/\/prod\/node\/n1; serial /);
    const nodeCert = certificateAt(join(out, 'nodes', 'n1.crt'));
    expect(nodeCert.subjectAltName).toBe(
      'URI:spiffe://prod/node/n1, DNS:n1.prod.svc, DNS:localhost, DNS:n1.example, IP Address:127.0.0.1, IP Address:10.1.2.3',
    );
    expect(nodeCert.verify(certificateAt(join(out, 'ca.crt')).publicKey)).toBe(true);

    const client = await runCliInProcess([
      'cert',
      'issue',
      'client',
      '--out',
      out,
      '--cluster-id',
      'prod',
      '--name',
      'orders',
      '--role',
      'mesh.read,mesh.operate',
      '--role',
      'mesh.read',
      '--scope-prefix',
      'shard/orders/',
      '--days',
      '30',
    ]);
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    expect(client.stdout).toMatch(
      /\(client certificate for spiffe:\/\/prod\/client\/orders, roles mesh.read,mesh.operate; serial /,
    );
    const clientCert = certificateAt(join(out, 'orders.crt'));
    expect(clientCert.subjectAltName).toBe(
      'URI:spiffe://prod/client/orders, URI:omnirelay:role:mesh.read, URI:omnirelay:role:mesh.operate, URI:omnirelay:scope:shard/orders/',
    );
    expect(new Date(clientCert.validTo).getTime() - new Date(clientCert.validFrom).getTime()).toBe(
      30 * 86_400_000 + 5 * 60_000,
    );
    for (const key of ['ca.key', 'orders.key', join('nodes', 'n1.key')]) {
      expect(statSync(join(out, key)).mode & 0o777).toBe(0o600);
    }
  });

  it('takes the cluster id from OMNIRELAY_CLUSTER_ID, else omnirelay, and ignores the endpoints', async () => {
    const out = tempDir();
    const env = { OMNIRELAY_CLUSTER_ID: 'from-env', OMNIRELAY_ENDPOINTS: 'not an endpoint' };
    expect((await runCliInProcess(['cert', 'issue', 'ca', '--out', out], { env })).code).toBe(0);
    expect((await runCliInProcess(['cert', 'issue', 'node', '--out', out, '--id', 'n1'], { env })).code).toBe(
      0,
    );
    expect(certificateAt(join(out, 'n1.crt')).subjectAltName).toMatch(/^URI:spiffe:\/\/from-env\/node\/n1,/);
    expect((await runCliInProcess(['cert', 'issue', 'node', '--out', out, '--id', 'n2'])).code).toBe(0);
    expect(certificateAt(join(out, 'n2.crt')).subjectAltName).toMatch(/^URI:spiffe:\/\/omnirelay\/node\/n2,/);
  });

  it('prints the files as JSON with -o json', async () => {
    const out = tempDir();
    const r = await runCliInProcess(['cert', 'issue', 'ca', '--out', out, '-o', 'json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, string>;
    expect(json['serialNumber']).toMatch(/^[0-9a-f]{32}$/);
    expect(json).toEqual({
      certPath: join(out, 'ca.crt'),
      keyPath: join(out, 'ca.key'),
      serialNumber: json['serialNumber'],
      notBefore: new Date(certificateAt(join(out, 'ca.crt')).validFrom).toISOString(),
      notAfter: new Date(certificateAt(join(out, 'ca.crt')).validTo).toISOString(),
    });
  });

  it('refuses to overwrite with exit 5, and overwrites with --force', async () => {
    const out = tempDir();
    expect((await runCliInProcess(['cert', 'issue', 'ca', '--out', out])).code).toBe(0);
    const before = readFileSync(join(out, 'ca.crt'), 'utf8');
    const again = await runCliInProcess(['cert', 'issue', 'ca', '--out', out]);
    expect(again.code).toBe(5);
    expect(again.stdout).toBe('');
    expectOneErrorLine(again.stderr);
    expect(again.stderr).toBe(
      `omnirelay: ${join(out, 'ca.key')} exists; remove it, choose another --out, or give --force to overwrite it\n`,
    );
    expect(readFileSync(join(out, 'ca.crt'), 'utf8')).toBe(before);
    const forced = await runCliInProcess(['cert', 'issue', 'ca', '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(out, 'ca.crt'), 'utf8')).not.toBe(before);
  });

  it('exits 4 when the CA folder has no CA', async () => {
    const r = await runCliInProcess(['cert', 'issue', 'node', '--out', tempDir(), '--id', 'n1']);
    expect(r.code).toBe(4);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(/ca\.crt does not exist; issue a CA first \('omnirelay cert issue ca --out /);
  });

  it.each([
    ['no verb', ['cert', 'issue'], /'omnirelay cert issue' needs a command \(ca, node, client\)/],
    ['no --out', ['cert', 'issue', 'ca'], /required option '--out <dir>' not specified/],
    ['no --id', ['cert', 'issue', 'node', '--out', 'OUT'], /required option '--id <id>' not specified/],
    ['no --name', ['cert', 'issue', 'client', '--out', 'OUT'], /required option '--name <name>'/],
    [
      'a word as --days',
      ['cert', 'issue', 'ca', '--out', 'OUT', '--days', 'ten'],
      /--days "ten" is not a whole/,
    ],
    [
      '0 days',
      ['cert', 'issue', 'ca', '--out', 'OUT', '--days', '0'],
      /days 0 is out of range; .* 1 to 3650/,
    ],
    ['3651 days', ['cert', 'issue', 'ca', '--out', 'OUT', '--days', '3651'], /days 3651 is out of range/],
    ['a bad cluster id', ['cert', 'issue', 'ca', '--out', 'OUT', '--cluster-id', 'a b'], /cluster id "a b"/],
    ['a bad -o', ['cert', 'issue', 'ca', '--out', 'OUT', '-o', 'yaml'], /-o\/--output "yaml"/],
    [
      'a bad node id',
      ['cert', 'issue', 'node', '--out', 'OUT', '--id', 'n/1'],
      /node id "n\/1" is not valid/,
    ],
    [
      'a bad DNS name',
      ['cert', 'issue', 'node', '--out', 'OUT', '--id', 'n1', '--dns', 'a_b'],
      /DNS name "a_b"/,
    ],
    [
      'an empty --dns item',
      ['cert', 'issue', 'node', '--out', 'OUT', '--id', 'n1', '--dns', 'a,,b'],
      /DNS name ""/,
    ],
    [
      'a bad IP',
      ['cert', 'issue', 'node', '--out', 'OUT', '--id', 'n1', '--ip', '1.2.3'],
      /IP address "1.2.3"/,
    ],
    [
      'an unknown role',
      ['cert', 'issue', 'client', '--out', 'OUT', '--name', 'a', '--role', 'admin'],
      /role "admin" is not a role; use one of: mesh.read, mesh.operate, mesh.admin/,
    ],
    [
      'a bad scope prefix',
      ['cert', 'issue', 'client', '--out', 'OUT', '--name', 'a', '--scope-prefix', 'Shard/'],
      /scope prefix "Shard\/" is not valid/,
    ],
  ])('exits 2 with one line and writes nothing for %s', async (_name, argv, message) => {
    const out = tempDir();
    expect((await runCliInProcess(['cert', 'issue', 'ca', '--out', out])).code).toBe(0);
    const r = await runCliInProcess(argv.map((a) => (a === 'OUT' ? out : a)));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(message);
    expect(readdirSync(out).sort()).toEqual(['ca.crt', 'ca.key']);
  });

  it('prints help for each verb with exit 0', async () => {
    for (const verb of ['ca', 'node', 'client']) {
      const r = await runCliInProcess(['cert', 'issue', verb, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: omnirelay cert issue ${verb} `));
      expect(r.stdout).toContain('--force');
    }
    expect(existsSync(join(tempDir(), 'ca.crt'))).toBe(false);
  });
});
