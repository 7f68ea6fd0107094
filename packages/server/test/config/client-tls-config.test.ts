import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadServerConfig } from '../../src/index';

describe('the --client-tls-* settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-client-tls-config-'));
  const cert = join(dir, 'n1.crt');
  const key = join(dir, 'n1.key');
  const ca = join(dir, 'ca.crt');
  for (const f of [cert, key, ca]) writeFileSync(f, 'PEM');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (args: readonly string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof loadServerConfig> =>
    loadServerConfig(['--id', 'n1', ...args], env);

  it('leaves the client ports plaintext when none is given', () => {
    expect(load([]).clientTls).toBeUndefined();
  });

  it('takes the certificate and key, with the CA optional, from flags or the environment', () => {
    expect(load(['--client-tls-cert', cert, '--client-tls-key', key]).clientTls).toEqual({
      certFile: cert,
      keyFile: key,
    });
    expect(
      load([], {
        OMNIRELAY_CLIENT_TLS_CERT: cert,
        OMNIRELAY_CLIENT_TLS_KEY: key,
        OMNIRELAY_CLIENT_TLS_CA: ca,
      }).clientTls,
    ).toEqual({ certFile: cert, keyFile: key, caFile: ca });
  });

  it('refuses TLS without client authentication beyond loopback, and takes it with a client CA or a tokens file', () => {
    const wide = ['--grpc-address', '0.0.0.0:7301', '--client-tls-cert', cert, '--client-tls-key', key];
    expect(() => load(wide)).toThrow(
      /client gRPC port on 0\.0\.0\.0:7301 without TLS and client authentication: .*--client-tls-ca or --auth-tokens-file/,
    );
    expect(load([...wide, '--client-tls-ca', ca]).clientTls?.caFile).toBe(ca);
    expect(load([...wide, '--auth-tokens-file', join(dir, 'tokens.yaml')]).authTokensFile).toBe(
      join(dir, 'tokens.yaml'),
    );
    expect(load([...wide, '--insecure', 'true']).insecure).toBe(true);
  });

  it('refuses a certificate without its key', () => {
    expect(() => load(['--client-tls-cert', cert])).toThrow(ConfigError);
    expect(() => load(['--client-tls-cert', cert])).toThrow(
      /client TLS needs both --client-tls-cert and --client-tls-key/,
    );
  });

  it('refuses a CA without a certificate and key', () => {
    expect(() => load(['--client-tls-ca', ca])).toThrow(/--client-tls-ca needs --client-tls-cert/);
  });

  it('names the flag and the file that does not exist', () => {
    expect(() => load(['--client-tls-cert', cert, '--client-tls-key', join(dir, 'nope.key')])).toThrow(
      `--client-tls-key ${join(dir, 'nope.key')}: no such file`,
    );
  });
});
