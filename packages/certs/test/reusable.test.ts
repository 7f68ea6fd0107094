import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCa } from '../src/ca';
import { issueCa, issueClient, issueNode } from '../src/issue';
import type { ExpectedLeaf } from '../src/reusable';
import { keyModeProblem, leafProblem, validityProblem } from '../src/reusable';
import { useTempDir } from './support/temp-dir';

const tempDir = useTempDir('reusable');
const DAY_MS = 86_400_000;
const node: ExpectedLeaf = { kind: 'node', clusterId: 'c', name: 'n1' };

async function issued(): Promise<{ certPath: string; keyPath: string }> {
  await issueCa({ outDir: tempDir(), clusterId: 'c' });
  return issueNode({ outDir: tempDir(), caDir: tempDir(), clusterId: 'c', id: 'n1' });
}

describe('validityProblem', () => {
  const window = { notBefore: new Date(10 * DAY_MS), notAfter: new Date(20 * DAY_MS) };

  it('accepts a certificate valid for at least the minimum more', () => {
    expect(validityProblem(window, 15 * DAY_MS, 5 * DAY_MS)).toBeUndefined();
  });

  it('refuses one that is not valid yet', () => {
    expect(validityProblem(window, 9 * DAY_MS, 0)).toBe(
      `it is not valid before ${window.notBefore.toISOString()}`,
    );
  });

  it('refuses one that ends within the minimum', () => {
    expect(validityProblem(window, 15 * DAY_MS + 1, 5 * DAY_MS)).toBe(
      `it expires at ${window.notAfter.toISOString()}`,
    );
  });
});

describe('leafProblem', () => {
  it('accepts a certificate the CA issued for exactly the expected identity', async () => {
    const files = await issued();
    expect(await leafProblem(files, await loadCa(tempDir()), node, Date.now(), DAY_MS)).toBeUndefined();
  });

  it('says a missing certificate is missing', async () => {
    await issueCa({ outDir: tempDir(), clusterId: 'c' });
    const files = { certPath: join(tempDir(), 'n1.crt'), keyPath: join(tempDir(), 'n1.key') };
    expect(await leafProblem(files, await loadCa(tempDir()), node, Date.now(), 0)).toBe('it is missing');
  });

  it('refuses a file that is not PEM', async () => {
    const files = await issued();
    writeFileSync(files.certPath, 'not a certificate');
    expect(await leafProblem(files, await loadCa(tempDir()), node, Date.now(), 0)).toMatch(
      /^it cannot be read/,
    );
  });

  it('refuses a key that is not the certificate’s', async () => {
    const files = await issued();
    const other = await issueNode({
      outDir: join(tempDir(), 'o'),
      caDir: tempDir(),
      clusterId: 'c',
      id: 'n1',
    });
    copyFileSync(other.keyPath, files.keyPath);
    expect(await leafProblem(files, await loadCa(tempDir()), node, Date.now(), 0)).toBe(
      `${files.keyPath} is not the key of ${files.certPath}`,
    );
  });

  it('refuses another identity, other roles or other scope prefixes', async () => {
    const files = await issued();
    const ca = await loadCa(tempDir());
    expect(await leafProblem(files, ca, { ...node, name: 'n2' }, Date.now(), 0)).toMatch(
      /not the ones asked for/,
    );
    expect(await leafProblem(files, ca, { ...node, clusterId: 'd' }, Date.now(), 0)).toMatch(
      /not the ones asked for/,
    );
    const client = await issueClient({
      outDir: tempDir(),
      caDir: tempDir(),
      clusterId: 'c',
      name: 'ops',
      roles: ['mesh.read'],
      scopePrefixes: ['shard/'],
    });
    const asked: ExpectedLeaf = {
      kind: 'client',
      clusterId: 'c',
      name: 'ops',
      roles: ['mesh.read'],
      scopePrefixes: ['shard/'],
    };
    expect(await leafProblem(client, ca, asked, Date.now(), 0)).toBeUndefined();
    expect(
      await leafProblem(client, ca, { ...asked, roles: ['mesh.read', 'mesh.admin'] }, Date.now(), 0),
    ).toMatch(/not the ones asked for/);
    expect(await leafProblem(client, ca, { ...asked, scopePrefixes: ['*'] }, Date.now(), 0)).toMatch(
      /not the ones asked for/,
    );
  });
});

describe('keyModeProblem', () => {
  it('names a key file that cannot be read', async () => {
    expect(await keyModeProblem(join(tempDir(), 'none.key'))).toBe(
      `${join(tempDir(), 'none.key')} cannot be read (ENOENT)`,
    );
  });
});
