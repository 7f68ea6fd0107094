import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_CODES_HELP } from '../src/exit-codes';
import { closedPorts, expectOneErrorLine, runCliInProcess } from './support/run-cli';

describe('omnirelay, bad usage', () => {
  it.each([
    [
      'no command',
      [],
      /'omnirelay' needs a command \(status, mesh, leadership, fence, cluster, cert, token, snapshot\)/,
    ],
    [
      'a group without its command',
      ['mesh', 'leaders'],
      /'omnirelay mesh leaders' needs a command \(status\)/,
    ],
    ['an unknown command', ['stauts'], /unknown command 'stauts' \(Did you mean status\?\)/],
    ['an unknown option', ['status', '--bogus'], /unknown option '--bogus'; run 'omnirelay status --help'/],
    ['an extra argument', ['status', 'now'], /too many arguments/],
    ['a missing --scope', ['leadership', 'stepdown'], /required option '--scope <scope>' not specified/],
    ['a missing --fence', ['fence', 'validate', '--scope', 'a'], /required option '--fence <token>'/],
    ['a missing option value', ['status', '--endpoints'], /argument missing/],
    [
      'a word as token',
      ['fence', 'validate', '--scope', 'a', '--fence', 'abc'],
      /--fence "abc" is not a fence token/,
    ],
    [
      'a negative token',
      ['fence', 'validate', '--scope', 'a', '--fence', '-1'],
      /--fence "-1" is not a fence token/,
    ],
    [
      'a token past uint64',
      ['fence', 'validate', '--scope', 'a', '--fence', '18446744073709551616'],
      /not a fence/,
    ],
    ['a bad stepdown fence', ['leadership', 'stepdown', '--scope', 'a', '--fence', '1.0'], /--fence "1.0"/],
    [
      'a bad -o',
      ['status', '-o', 'yaml'],
      /-o\/--output "yaml" is not an output format; use one of: table, json/,
    ],
    [
      'a bad endpoint',
      ['--endpoints', '127.0.0.1', 'status'],
      /endpoint "127.0.0.1" in --endpoints is not host:port/,
    ],
    ['a bad port', ['--endpoints', 'h:70000', 'status'], /endpoint "h:70000"/],
    ['a bad --timeout', ['status', '--timeout', '5s'], /--timeout "5s"/],
    ['an empty --scope', ['mesh', 'leaders', 'status', '--scope', ''], /--scope "" is not a scope name/],
    [
      '--scope with --prefix',
      ['mesh', 'leaders', 'status', '--scope', 'a', '--prefix', 'b'],
      /cannot be used together/,
    ],
    [
      '--successor-ttl-ms without --to',
      ['leadership', 'stepdown', '--scope', 'a', '--successor-ttl-ms', '9'],
      /needs --to/,
    ],
    ['a bad --to', ['cluster', 'transfer-leader', '--to', ''], /--to "" is not an id/],
  ])('exits 2 with one line for %s', async (_name, argv, message) => {
    const r = await runCliInProcess(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a bad OMNIRELAY_ENDPOINTS naming the variable', async () => {
    const r = await runCliInProcess(['status'], { env: { OMNIRELAY_ENDPOINTS: 'nohost' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^omnirelay: endpoint "nohost" in OMNIRELAY_ENDPOINTS is not host:port; /);
  });
});

describe('omnirelay, help and version', () => {
  it('prints the commands, the global options and the exit codes on --help, with exit 0', async () => {
    const r = await runCliInProcess(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const text of [
      'status',
      'mesh',
      'leadership',
      'fence',
      'cluster',
      'token',
      '--endpoints',
      '--timeout',
      '-o, --output',
      '--token <token>',
      '--token-file <file>',
    ]) {
      expect(r.stdout).toContain(text);
    }
    expect(r.stdout).toContain('OMNIRELAY_ENDPOINTS');
    expect(r.stdout).toContain('OMNIRELAY_TOKEN, OMNIRELAY_TOKEN_FILE');
    expect(r.stdout).toContain(EXIT_CODES_HELP);
  });

  it.each([
    [['status', '--help']],
    [['mesh', '--help']],
    [['mesh', 'leaders', '--help']],
    [['mesh', 'leaders', 'status', '--help']],
    [['leadership', 'stepdown', '--help']],
    [['fence', 'validate', '--help']],
    [['cluster', 'members', '--help']],
    [['cluster', 'transfer-leader', '--help']],
    [['token', 'create', '--help']],
    [['token', 'revoke', '--help']],
    [['help', 'status']],
  ])('prints help for %j with exit 0, global options included', async (argv) => {
    const r = await runCliInProcess(argv);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: omnirelay /);
    expect(r.stdout).toContain('--endpoints <list>');
  });

  it('prints the package version on --version', async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    const r = await runCliInProcess(['--version']);
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });
});

describe('omnirelay, unreachable endpoints', () => {
  let endpoints = '';
  beforeAll(async () => {
    endpoints = (await closedPorts(2)).map((port) => `127.0.0.1:${port}`).join(',');
  });

  it.each([
    [['status']],
    [['status', '-o', 'json']],
    [['mesh', 'leaders', 'status']],
    [['mesh', 'leaders', 'status', '--scope', 'global-control']],
    [['mesh', 'leaders', 'status', '--watch']],
    [['fence', 'validate', '--scope', 'a', '--fence', '1']],
    [['leadership', 'stepdown', '--scope', 'a']],
    [['cluster', 'members']],
    [['cluster', 'transfer-leader']],
  ])(
    'exits 3 with one line for %j',
    async (argv) => {
      const r = await runCliInProcess(['--endpoints', endpoints, '--timeout', '300', ...argv]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expectOneErrorLine(r.stderr);
      expect(r.stderr).toMatch(/127\.0\.0\.1:\d+/);
    },
    15_000,
  );

  it('says no endpoint answered for status, listing them', async () => {
    const r = await runCliInProcess(['--endpoints', endpoints, 'status']);
    expect(r.stderr).toBe(
      `omnirelay: no endpoint answered (${endpoints.replace(',', ', ')}); check the nodes are running and --endpoints (or OMNIRELAY_ENDPOINTS) is right\n`,
    );
  }, 15_000);

  it('takes the endpoints from OMNIRELAY_ENDPOINTS', async () => {
    const r = await runCliInProcess(['status'], { env: { OMNIRELAY_ENDPOINTS: endpoints } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(endpoints.split(',')[0]);
  }, 15_000);
});
