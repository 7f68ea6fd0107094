import { chmodSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadPublicApi } from '@omnirelay/server';
import { expectOneErrorLine, runCliInProcess } from './support/run-cli';
import { TEST_TOKEN as TOKEN, useTokenFile } from './support/token-file';

const tokenFile = useTokenFile('token-flags');

describe('CommandContext, the bearer token from --token and --token-file', () => {
  let server: grpc.Server;
  let endpoint = '';
  const seen: string[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(loadPublicApi().cluster.definition, {
      Status: (call: grpc.ServerUnaryCall<unknown, object>, callback: grpc.sendUnaryData<object>) => {
        seen.push(String(call.metadata.get('authorization')[0] ?? ''));
        callback(null, { nodeId: 'n1', role: 'leader', term: 1, leader: 'n1', commit: 1, applied: 1 });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e === null ? resolve(p) : reject(e),
      ),
    );
    endpoint = `127.0.0.1:${port}`;
  });

  afterEach(() => {
    seen.length = 0;
  });

  afterAll(() => server.forceShutdown());

  it.each([
    ['--token', (_file: string) => ['--token', TOKEN], () => ({})],
    ['--token-file', (file: string) => ['--token-file', file], () => ({})],
    ['OMNIRELAY_TOKEN', () => [], () => ({ OMNIRELAY_TOKEN: TOKEN })],
    ['OMNIRELAY_TOKEN_FILE', () => [], (file: string) => ({ OMNIRELAY_TOKEN_FILE: file })],
  ] as const)('sends the token from %s as a bearer header', async (_source, flags, env) => {
    const file = tokenFile(`${TOKEN}\n`);
    const r = await runCliInProcess(['--endpoints', endpoint, ...flags(file), 'status'], { env: env(file) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((auth) => auth === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('sends no authorization without a token', async () => {
    const r = await runCliInProcess(['--endpoints', endpoint, 'status']);
    expect(r.code).toBe(0);
    expect(seen.every((auth) => auth === '')).toBe(true);
  });

  it.each([
    [
      '--token and --token-file',
      ['--token', TOKEN, '--token-file', 'f'],
      {},
      /--token and --token-file are both given; give one; prefer --token-file/,
    ],
    [
      'both variables',
      [],
      { OMNIRELAY_TOKEN: TOKEN, OMNIRELAY_TOKEN_FILE: 'f' },
      /OMNIRELAY_TOKEN and OMNIRELAY_TOKEN_FILE are both given/,
    ],
    [
      'a missing --token-file',
      ['--token-file', '/nonexistent/omnirelay-token'],
      {},
      /--token-file \/nonexistent\/omnirelay-token: no such file/,
    ],
    ['a folder as --token-file', ['--token-file', '/'], {}, /--token-file \/: is a folder/],
    [
      'a short --token',
      ['--token', 'short'],
      {},
      /the token from --token has 5 characters; a bearer token has 16 to 512/,
    ],
    [
      'a bad OMNIRELAY_TOKEN',
      [],
      { OMNIRELAY_TOKEN: 'omr_has a space inside' },
      /the token from OMNIRELAY_TOKEN has a space or line break at position 8/,
    ],
  ])('exits 2 with one line for %s, sending nothing', async (_name, flags, env, message) => {
    const r = await runCliInProcess(['--endpoints', endpoint, ...flags, 'status'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(message);
    expect(seen).toEqual([]);
  });

  it('refuses a malformed token file without printing its content', async () => {
    const file = tokenFile('omr_this-is-a-secret!but-malformed\n');
    const r = await runCliInProcess(['--endpoints', endpoint, '--token-file', file, 'status']);
    expect(r.code).toBe(2);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toContain(
      `the token from --token-file ${file} has a character a token may not have at position 21`,
    );
    expect(r.stderr).not.toContain('secret');
    expect(seen).toEqual([]);
  });

  it('refuses an unreadable token file', async () => {
    if (process.getuid?.() === 0) return; // root reads any file
    const file = tokenFile(`${TOKEN}\n`);
    chmodSync(file, 0o000);
    const r = await runCliInProcess(['--endpoints', endpoint, '--token-file', file, 'status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/: permission denied; give a readable file whose first line is the token/);
  });
});
