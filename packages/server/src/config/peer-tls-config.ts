import { existsSync } from 'node:fs';
import type { PeerTlsFiles } from '@omnirelay/raft';
import { givenFile } from './setting-files';

/**
 * resolvePeerTls reads the peer-port TLS settings out of the merged configuration: none of them
 * (plaintext, undefined), or all three of --peer-tls-ca, --peer-tls-cert and --peer-tls-key, each
 * an existing file. Anything else is `{ refused }`, a message naming the flag (loadServerConfig
 * throws it as a ConfigError).
 */
export function resolvePeerTls(
  merged: Readonly<Record<string, unknown>>,
): PeerTlsFiles | undefined | { readonly refused: string } {
  const files: Array<[string, string | undefined]> = [
    ['--peer-tls-ca', givenFile(merged, 'peerTlsCaFile')],
    ['--peer-tls-cert', givenFile(merged, 'peerTlsCertFile')],
    ['--peer-tls-key', givenFile(merged, 'peerTlsKeyFile')],
  ];
  const count = files.filter(([, file]) => file !== undefined).length;
  if (count === 0) return undefined;
  if (count < files.length) {
    return {
      refused:
        'peer TLS needs all of --peer-tls-ca, --peer-tls-cert and --peer-tls-key (omnirelay cert issue makes them)',
    };
  }
  for (const [flag, file] of files) {
    if (!existsSync(file!)) return { refused: `${flag} ${file!}: no such file` };
  }
  return { caFile: files[0]![1]!, certFile: files[1]![1]!, keyFile: files[2]![1]! };
}
