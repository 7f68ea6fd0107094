import { accessSync, constants } from 'node:fs';
import type { ReplicationCredentialFiles } from '../cross-cluster/replication-credentials';

/**
 * resolveReplicationCredentials reads the settings of the replication channel (the passive
 * cluster's replicator and peer-descriptor checks dialling the other clusters' public gRPC ports)
 * out of the merged configuration: none of them (plaintext, no credentials: undefined), or any of
 * --replication-tls-ca (trust the active cluster's client-port certificate: TLS),
 * --replication-tls-cert with --replication-tls-key (a client certificate: mutual TLS), and
 * --replication-token-file (a bearer token), each a readable file. The cert and key go together.
 * Anything else is `{ refused }`, a message naming the flag (loadServerConfig throws it).
 */
export function resolveReplicationCredentials(
  merged: Readonly<Record<string, unknown>>,
): ReplicationCredentialFiles | undefined | { readonly refused: string } {
  const given = (key: string): string | undefined => {
    const value = merged[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const caFile = given('replicationTlsCaFile');
  const certFile = given('replicationTlsCertFile');
  const keyFile = given('replicationTlsKeyFile');
  const tokenFile = given('replicationTokenFile');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    return {
      refused:
        'a replication client certificate needs both --replication-tls-cert and --replication-tls-key (omnirelay cert issue client makes them)',
    };
  }
  const files: Array<[string, string | undefined]> = [
    ['--replication-tls-ca', caFile],
    ['--replication-tls-cert', certFile],
    ['--replication-tls-key', keyFile],
    ['--replication-token-file', tokenFile],
  ];
  if (files.every(([, file]) => file === undefined)) return undefined;
  for (const [flag, file] of files) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read';
      return { refused: `${flag} ${file}: ${reason}` };
    }
  }
  return {
    ...(caFile === undefined ? {} : { caFile }),
    ...(certFile === undefined || keyFile === undefined ? {} : { certFile, keyFile }),
    ...(tokenFile === undefined ? {} : { tokenFile }),
  };
}
