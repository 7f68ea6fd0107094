import type { ClientTlsFiles } from '../tls/client-tls';
import { givenFile, unreadableFile } from './setting-files';

/**
 * resolveClientTls reads the client-port TLS settings out of the merged configuration: none of
 * them (plaintext, undefined), or --client-tls-cert and --client-tls-key together, each a
 * readable file, with an optional readable --client-tls-ca. Anything else is `{ refused }`, a
 * message naming the flag and the file (loadServerConfig throws it as a ConfigError).
 */
export function resolveClientTls(
  merged: Readonly<Record<string, unknown>>,
): ClientTlsFiles | undefined | { readonly refused: string } {
  const certFile = givenFile(merged, 'clientTlsCertFile');
  const keyFile = givenFile(merged, 'clientTlsKeyFile');
  const caFile = givenFile(merged, 'clientTlsCaFile');
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
  const unreadable = unreadableFile([
    ['--client-tls-cert', certFile],
    ['--client-tls-key', keyFile],
    ['--client-tls-ca', caFile],
  ]);
  if (unreadable !== undefined) return { refused: unreadable };
  return { certFile, keyFile, ...(caFile === undefined ? {} : { caFile }) };
}
