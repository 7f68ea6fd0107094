import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadServerConfig } from '../../src/index';
import { replicationChannel } from '../../src/cross-cluster/replication-credentials';

describe('the --replication-* settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-replication-config-'));
  const cert = join(dir, 'replicator.crt');
  const key = join(dir, 'replicator.key');
  const ca = join(dir, 'ca.crt');
  const token = join(dir, 'token');
  for (const f of [cert, key, ca]) writeFileSync(f, 'PEM');
  writeFileSync(token, 'secret-token\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (args: readonly string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof loadServerConfig> =>
    loadServerConfig(['--id', 'n1', ...args], env);

  it('leaves replication plaintext and without credentials when none is given', () => {
    expect(load([]).replicationCredentials).toBeUndefined();
  });

  it('takes a CA, a client certificate with its key and a token file, from flags or the environment', () => {
    expect(
      load(['--replication-tls-ca', ca, '--replication-tls-cert', cert, '--replication-tls-key', key])
        .replicationCredentials,
    ).toEqual({ caFile: ca, certFile: cert, keyFile: key });
    expect(load([], { OMNIRELAY_REPLICATION_TOKEN_FILE: token }).replicationCredentials).toEqual({
      tokenFile: token,
    });
  });

  it('refuses a certificate without its key', () => {
    expect(() => load(['--replication-tls-cert', cert])).toThrow(ConfigError);
    expect(() => load(['--replication-tls-key', key])).toThrow(
      /needs both --replication-tls-cert and --replication-tls-key/,
    );
  });

  it('names the flag and the file that does not exist', () => {
    expect(() => load(['--replication-token-file', join(dir, 'nope')])).toThrow(
      `--replication-token-file ${join(dir, 'nope')}: no such file`,
    );
  });

  it('sends the token as a bearer token, read again at each connection', () => {
    expect(replicationChannel({ tokenFile: token }).metadata.get('authorization')).toEqual([
      'Bearer secret-token',
    ]);
    writeFileSync(token, 'rotated');
    expect(replicationChannel({ tokenFile: token }).metadata.get('authorization')).toEqual([
      'Bearer rotated',
    ]);
    writeFileSync(token, 'two words');
    expect(() => replicationChannel({ tokenFile: token })).toThrow(/must hold one token/);
  });
});
