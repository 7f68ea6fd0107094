import { accessSync, constants } from 'node:fs';
import type { ClientTlsFiles } from '../tls/client-tls';

/**
 * resolveClientTls reads the client-port TLS settings out of the merged configuration: none of
 * them (plaintext, undefined), or --client-tls-cert and --client-tls-key together, each a
 * readable file, with an optional readable --client-tls-ca. Anything else is `{ refused }`, a
 * message naming the flag and the file (loadServerConfig throws it as a ConfigError).
 */
export function resolveClientTls(
  merged: Readonly<Record<string, unknown>>,
): ClientTlsFiles | undefined | { readonly refused: string } {
  const given = (key: string): string | undefined => {
    const value = merged[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const certFile = given('clientTlsCertFile');
  const keyFile = given('clientTlsKeyFile');
  const caFile = given('clientTlsCaFile');
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined) {
      return {
        refused:
          '--client-tls-ca needs --client-tls-cert and --client-tls-key: the client ports verify clients only over TLS',
      };
    }
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    return {
      refused:
        'client TLS needs both --client-tls-cert and --client-tls-key (omnirelay cert issue node makes them)',
    };
  }
  const files: Array<[string, string]> = [
    ['--client-tls-cert', certFile],
    ['--client-tls-key', keyFile],
    ...(caFile === undefined ? [] : [['--client-tls-ca', caFile] as [string, string]]),
  ];
  for (const [flag, file] of files) {
    try {
      accessSync(file, constants.R_OK);
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read';
      return { refused: `${flag} ${file}: ${reason}` };
    }
  }
  return { certFile, keyFile, ...(caFile === undefined ? {} : { caFile }) };
}
