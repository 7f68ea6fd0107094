import type { ReplicationCredentialFiles } from '../cross-cluster/replication-credentials';
import { givenFile, unreadableFile } from './setting-files';

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
  const caFile = givenFile(merged, 'replicationTlsCaFile');
  const certFile = givenFile(merged, 'replicationTlsCertFile');
  const keyFile = givenFile(merged, 'replicationTlsKeyFile');
  const tokenFile = givenFile(merged, 'replicationTokenFile');
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
  const unreadable = unreadableFile(files);
  if (unreadable !== undefined) return { refused: unreadable };
  return {
    ...(caFile === undefined ? {} : { caFile }),
    ...(certFile === undefined || keyFile === undefined ? {} : { certFile, keyFile }),
    ...(tokenFile === undefined ? {} : { tokenFile }),
  };
}
