import type { ServerConfig } from '../config/server-config';
import type { ClientTlsFiles, ForwardingTlsFiles } from './client-tls';
import { forwardingCaFile } from './client-tls';

/**
 * clientPortTls is what both client edges need when --client-tls-* is set: the port's own TLS
 * files, and those a follower forwards to the leader with (its own certificate, the client CA or
 * else the peer CA, and the cluster id whose node names it trusts). Empty when the client ports
 * are plaintext, so it spreads into the edges' options as is.
 */
export function clientPortTls(
  config: ServerConfig,
): { readonly tls: ClientTlsFiles; readonly forwardingTls: ForwardingTlsFiles } | Record<string, never> {
  const tls = config.clientTls;
  if (tls === undefined) return {};
  const caFile = forwardingCaFile(tls, config.peerTlsCaFile);
  return {
    tls,
    forwardingTls: {
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      ...(caFile === undefined ? {} : { caFile }),
      clusterId: config.clusterId,
    },
  };
}
