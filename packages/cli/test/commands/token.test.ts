import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { tokenProblem } from '@omnirelay/client-sdk';
import { expectOneErrorLine, runCliInProcess } from '../support/run-cli';
import { useTempDir } from '../../../certs/test/support/temp-dir';

const tempDir = useTempDir('token-cli');

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface Entry {
  name: string;
  sha256: string;
  roles?: string[];
  scopes?: string[];
}

function entries(path: string): Entry[] {
  return (parse(readFileSync(path, 'utf8')) as { tokens: Entry[] }).tokens;
}

/** EXISTING is a tokens file someone wrote by hand: comments, an entry and a layout to keep. */
const EXISTING = `# Tokens of the prod cluster. Owner: platform team.
tokens:
  # the billing service, rotated quarterly
  - name: billing   # keep this comment
    sha256: ${'b'.repeat(64)}
    roles: [mesh.read]
    scopes: [shard/billing/]
# end of file
`;

describe('omnirelay token create', () => {
  it('mints a token, prints it alone on stdout, and creates the tokens file with mode 0600 holding only its hash', async () => {
    const file = join(tempDir(), 'tokens.yaml');
    const r = await runCliInProcess([
      'token',
      'create',
      '--name',
      'orders',
      '--role',
      'mesh.operate',
      '--role',
      'mesh.read,mesh.operate',
      '--scope-prefix',
      'shard/orders/,shard/shared/',
      '--tokens-file',
      file,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^omr_[A-Za-z0-9_-]{43}\n$/);
    const token = r.stdout.trim();
    expect(tokenProblem(token)).toBeUndefined();
    expect(r.stderr).toBe(
      `omnirelay: added token "orders" (roles mesh.operate,mesh.read; scope prefixes shard/orders/,shard/shared/) in ${file}; the token on stdout is shown only this once: store it now\n`,
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(4));
    expect(entries(file)).toEqual([
      {
        name: 'orders',
        sha256: sha256(token),
        roles: ['mesh.operate', 'mesh.read'],
        scopes: ['shard/orders/', 'shard/shared/'],
      },
    ]);
    expect(text).toContain('roles: [mesh.operate, mesh.read]');
    // No temporary file is left beside it.
    expect(readdirSync(tempDir())).toEqual(['tokens.yaml']);
  });

  it('mints a different token each time', async () => {
    const file = join(tempDir(), 'tokens.yaml');
    const a = await runCliInProcess(['token', 'create', '--name', 'a', '--tokens-file', file]);
    const b = await runCliInProcess(['token', 'create', '--name', 'b', '--tokens-file', file]);
    expect(a.code + b.code).toBe(0);
    expect(a.stdout).not.toBe(b.stdout);
    expect(entries(file).map((e) => e.name)).toEqual(['a', 'b']);
    // An entry without roles or scopes has neither key.
    expect(entries(file)[0]).toEqual({ name: 'a', sha256: sha256(a.stdout.trim()) });
  });

  it('adds to an existing file, keeping its entries, comments and mode', async () => {
    const file = join(tempDir(), 'tokens.yaml');
    writeFileSync(file, EXISTING);
    chmodSync(file, 0o640);
    const r = await runCliInProcess([
      'token',
      'create',
      '--name',
      'orders',
      '--scope-prefix',
      '*',
      '--tokens-file',
      file,
    ]);
    expect(r.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    // The yaml package keeps every comment, though it may change the spaces around them.
    for (const comment of [
      '# Tokens of the prod cluster. Owner: platform team.\n',
      '  # the billing service, rotated quarterly\n',
      '# keep this comment\n',
      '# end of file\n',
    ]) {
      expect(text).toContain(comment);
    }
    expect(entries(file)).toEqual([
      { name: 'billing', sha256: 'b'.repeat(64), roles: ['mesh.read'], scopes: ['shard/billing/'] },
      { name: 'orders', sha256: sha256(r.stdout.trim()), scopes: ['*'] },
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  it('adds to a JSON tokens file, and to an empty one', async () => {
    const json = join(tempDir(), 'tokens.json');
    writeFileSync(json, JSON.stringify({ tokens: [{ name: 'billing', sha256: 'b'.repeat(64) }] }));
    const empty = join(tempDir(), 'empty.yaml');
    writeFileSync(empty, '# no tokens yet\n');
    for (const file of [json, empty]) {
      const r = await runCliInProcess(['token', 'create', '--name', 'orders', '--tokens-file', file]);
      expect(r.code).toBe(0);
      expect(entries(file).at(-1)).toEqual({ name: 'orders', sha256: sha256(r.stdout.trim()) });
    }
    expect(entries(json)[0]!.name).toBe('billing');
    expect(readFileSync(empty, 'utf8')).toContain('# no tokens yet');
  });

  it('refuses a name already in the file with exit 5, and replaces it with --replace', async () => {
    const file = join(tempDir(), 'tokens.yaml');
    writeFileSync(file, EXISTING);
    const refused = await runCliInProcess(['token', 'create', '--name', 'billing', '--tokens-file', file]);
    expect(refused.code).toBe(5);
    expect(refused.stdout).toBe('');
    expectOneErrorLine(refused.stderr);
    expect(refused.stderr).toContain(`a token named "billing" is already in ${file}; give --replace`);
    expect(readFileSync(file, 'utf8')).toBe(EXISTING);

    const replaced = await runCliInProcess([
      'token',
      'create',
      '--name',
      'billing',
      '--role',
      'mesh.admin',
      '--replace',
      '--tokens-file',
      file,
      '-o',
      'json',
    ]);
    expect(replaced.code).toBe(0);
    expect(replaced.stderr).toBe('');
    const body = JSON.parse(replaced.stdout) as Record<string, unknown>;
    expect(body).toEqual({
      name: 'billing',
      token: expect.stringMatching(/^omr_/) as unknown,
      sha256: sha256(String(body['token'])),
      roles: ['mesh.admin'],
      scopes: [],
      tokensFile: file,
      replaced: true,
    });
    expect(entries(file)).toEqual([
      { name: 'billing', sha256: sha256(String(body['token'])), roles: ['mesh.admin'] },
    ]);
    expect(readFileSync(file, 'utf8')).toContain('# the billing service, rotated quarterly');
  });

  it.each([
    ['a bad name', ['--name', 'no spaces'], 2, /--name "no spaces" is not valid/],
    ['a name too long', ['--name', 'n'.repeat(64)], 2, /--name "n+" is not valid/],
    [
      'an unknown role',
      ['--name', 'a', '--role', 'mesh.root'],
      2,
      /role "mesh.root" is not a role; use one of: mesh.read, mesh.operate, mesh.admin/,
    ],
    [
      'a bad scope prefix',
      ['--name', 'a', '--scope-prefix', 'Shard/'],
      2,
      /scope prefix "Shard\/" is not valid/,
    ],
    ['a bad -o', ['--name', 'a', '-o', 'yaml'], 2, /-o\/--output "yaml" is not an output format/],
    ['a missing --name', [], 2, /required option '--name <name>' not specified/],
  ])('refuses %s with one line and writes nothing', async (_what, flags, code, message) => {
    const file = join(tempDir(), 'tokens.yaml');
    const r = await runCliInProcess(['token', 'create', ...flags, '--tokens-file', file]);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(message);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(tempDir())).toEqual([]);
  });

  it('exits 2 with one line when --tokens-file is missing or empty', async () => {
    const missing = await runCliInProcess(['token', 'create', '--name', 'a']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--tokens-file <path>' not specified/);
    const empty = await runCliInProcess(['token', 'create', '--name', 'a', '--tokens-file', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--tokens-file is empty/);
  });

  it.each([
    ['is not YAML', 'tokens: [a\n b: :\n', /is not valid YAML \(/],
    ['is a list', '- name: a\n', /is not a mapping with a tokens list/],
    ['has tokens that are not a list', 'tokens: 3\n', /has a tokens key that is not a list/],
    ['has an entry without a name', 'tokens:\n  - sha256: x\n', /has a tokens entry \(1\) without a name/],
  ])('refuses a tokens file that %s with exit 2, leaving it as it was', async (_what, text, message) => {
    const file = join(tempDir(), 'tokens.yaml');
    writeFileSync(file, text);
    const r = await runCliInProcess(['token', 'create', '--name', 'orders', '--tokens-file', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(message);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(readdirSync(tempDir())).toEqual(['tokens.yaml']);
  });

  it('refuses a folder as the tokens file, and a file in a folder that does not exist', async () => {
    const folder = join(tempDir(), 'dir');
    mkdirSync(folder);
    const r = await runCliInProcess(['token', 'create', '--name', 'a', '--tokens-file', folder]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a regular file/);
    const nowhere = await runCliInProcess([
      'token',
      'create',
      '--name',
      'a',
      '--tokens-file',
      join(folder, 'x', 't.yaml'),
    ]);
    expect(nowhere.code).toBe(1);
    expectOneErrorLine(nowhere.stderr);
    expect(nowhere.stderr).toMatch(/cannot write .*t\.yaml \(ENOENT\)/);
    expect(nowhere.stdout).toBe('');
  });
});

describe('omnirelay token revoke', () => {
  it('removes the entry, keeping the others, the comments and the mode', async () => {
    const file = join(tempDir(), 'tokens.yaml');
    writeFileSync(file, EXISTING);
    chmodSync(file, 0o600);
    const created = await runCliInProcess(['token', 'create', '--name', 'orders', '--tokens-file', file]);
    expect(created.code).toBe(0);
    const r = await runCliInProcess(['token', 'revoke', '--name', 'billing', '--tokens-file', file]);
    expect(r).toEqual({ code: 0, stdout: `revoked token "billing": removed from ${file}\n`, stderr: '' });
    expect(entries(file).map((e) => e.name)).toEqual(['orders']);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# Tokens of the prod cluster. Owner: platform team.');
    expect(text).toContain('# end of file');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const json = await runCliInProcess([
      'token',
      'revoke',
      '--name',
      'orders',
      '--tokens-file',
      file,
      '-o',
      'json',
    ]);
    expect(JSON.parse(json.stdout)).toEqual({ name: 'orders', tokensFile: file, revoked: true });
    expect(entries(file)).toEqual([]);
  });

  it('exits 4 with one line for a name not in the file, or no file, writing nothing', async () => {
    const file = join(tempDir(), 'tokens.yaml');
    writeFileSync(file, EXISTING);
    const r = await runCliInProcess(['token', 'revoke', '--name', 'orders', '--tokens-file', file]);
    expect(r.code).toBe(4);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toContain(
      `no token named "orders" in ${file}; check --name against the names in the file (billing)`,
    );
    expect(readFileSync(file, 'utf8')).toBe(EXISTING);

    const none = await runCliInProcess([
      'token',
      'revoke',
      '--name',
      'orders',
      '--tokens-file',
      join(tempDir(), 'no.yaml'),
    ]);
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/no\.yaml does not exist/);
    expect(existsSync(join(tempDir(), 'no.yaml'))).toBe(false);
  });

  it('exits 2 for a bad name', async () => {
    const file = join(tempDir(), 'tokens.yaml');
    writeFileSync(file, EXISTING);
    const r = await runCliInProcess(['token', 'revoke', '--name', '../etc', '--tokens-file', file]);
    expect(r.code).toBe(2);
    expectOneErrorLine(r.stderr);
    expect(readFileSync(file, 'utf8')).toBe(EXISTING);
  });
});
