import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokensFile, parseTokensFile, tokenHash } from '../../src/auth/tokens-file';

const TOKEN = 'omr_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const HASH = tokenHash(TOKEN);

describe('parseTokensFile', () => {
  it('reads names, hashes, roles and scope prefixes into principals keyed by hash', () => {
    const entries = parseTokensFile(
      `# who may call\ntokens:\n  - name: orders\n    sha256: ${HASH}\n    roles: [mesh.read]\n    scopes: [shard/orders/, "*"]\n`,
    );
    expect([...entries.values()]).toEqual([
      {
        sha256: HASH,
        principal: { name: 'token/orders', roles: ['mesh.read'], scopePrefixes: ['shard/orders/', '*'] },
      },
    ]);
    expect(parseTokensFile('').size).toBe(0);
    expect(parseTokensFile(JSON.stringify({ tokens: [{ name: 'a', sha256: HASH }] })).size).toBe(1);
  });

  it.each([
    ['text that is not YAML', 'tokens: [', /not YAML/],
    ['a list at the top', '- a', /must be a map with a `tokens` list/],
    ['tokens that are not a list', 'tokens: 3', /`tokens` must be a list/],
    ['an entry that is not a map', 'tokens: [3]', /tokens\[0\] is not a map/],
    ['an unknown field', `tokens: [{name: a, sha256: ${HASH}, token: x}]`, /unknown field token/],
    ['a bad name', `tokens: [{name: "a b", sha256: ${HASH}}]`, /tokens\[0\]\.name must be/],
    ['a short hash', 'tokens: [{name: a, sha256: abc}]', /\(a\)\.sha256 must be 64 lowercase hex/],
    [
      'an unknown role',
      `tokens: [{name: a, sha256: ${HASH}, roles: [mesh.root]}]`,
      /role mesh\.root; roles are/,
    ],
    [
      'a bad scope prefix',
      `tokens: [{name: a, sha256: ${HASH}, scopes: ["Shard/"]}]`,
      /scope prefix "Shard\/"/,
    ],
    [
      'roles that are not a list',
      `tokens: [{name: a, sha256: ${HASH}, roles: mesh.read}]`,
      /roles must be a list/,
    ],
    [
      'a name listed twice',
      `tokens: [{name: a, sha256: ${HASH}}, {name: a, sha256: ${'0'.repeat(64)}}]`,
      /tokens\[1\]\.name a is listed twice/,
    ],
    [
      'a hash listed twice',
      `tokens: [{name: a, sha256: ${HASH}}, {name: b, sha256: ${HASH}}]`,
      /\(b\) has the same sha256/,
    ],
  ])('refuses %s, naming the entry and field', (_what, text, message) => {
    expect(() => parseTokensFile(text)).toThrow(message);
  });
});

describe('TokensFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-tokens-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  };

  it('refuses to start from a missing or bad file, saying which', () => {
    expect(() => new TokensFile(join(dir, 'absent.yaml'), jest.fn(), jest.fn())).toThrow(
      /cannot read tokens file .*absent\.yaml/,
    );
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'tokens: [{name: a}]');
    expect(() => new TokensFile(bad, jest.fn(), jest.fn())).toThrow(
      /tokens file .*bad\.yaml: tokens\[0\] \(a\)\.sha256/,
    );
  });

  it('looks tokens up by hash, picks up a revocation, and keeps the last good entries over a bad edit', async () => {
    const path = join(dir, 'tokens.yaml');
    write(path, `tokens:\n  - name: ops\n    sha256: ${HASH}\n    roles: [mesh.operate]\n`);
    const changes: number[] = [];
    const errors: string[] = [];
    const file = new TokensFile(
      path,
      (n) => changes.push(n),
      (e) => errors.push(e),
      20,
    );
    try {
      expect(file.lookup(TOKEN)?.principal.name).toBe('token/ops');
      expect(file.lookup(`${TOKEN}x`)).toBeUndefined();
      write(path, 'tokens: [{name: broken}]\n');
      for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(errors[0]).toMatch(/\(broken\)\.sha256/);
      expect(file.lookup(TOKEN)?.principal.name).toBe('token/ops');
      write(path, 'tokens: []\n');
      for (let i = 0; i < 100 && changes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(changes).toEqual([0]);
      expect(file.lookup(TOKEN)).toBeUndefined();
    } finally {
      file.close();
    }
  });
});
