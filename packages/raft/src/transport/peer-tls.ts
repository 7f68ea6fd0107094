import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { NodeId } from '../core/index';
import { LastUsableCertificates } from './last-usable-certificates';
import { ProviderChannelCredentials } from './provider-channel-credentials';

/**
 * PeerTlsFiles names the PEM files of a node's peer identity: the CA bundle that signs every
 * member's certificate, and this node's certificate and key. They are re-read when they change
 * (PEER_TLS_REFRESH_MS), so certificates rotate without a restart; connections already open keep
 * the certificates they were made with. A reading that is not usable (a key that is not the
 * certificate's, halfway through a rotation) is skipped: see LastUsableCertificates.
 */
export interface PeerTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** PEER_TLS_REFRESH_MS is how often the certificate files are looked at for a change. */
export const PEER_TLS_REFRESH_MS = 5000;

/**
 * nodeUri is the URI SAN a node certificate must carry: `spiffe://<cluster-id>/node/<id>`. The
 * peer port trusts that name, not the host or address a peer was dialled at (like SPIFFE mTLS):
 * pods move, identities do not.
 */
export function nodeUri(clusterId: string, id: NodeId): string {
  return `spiffe://${clusterId}/node/${id}`;
}

/**
 * certificateIdentity names what a peer certificate is: the node id it carries for `clusterId`,
 * or a description of what it is instead (no certificate, a client's, another cluster's).
 */
export function certificateIdentity(
  cert: PeerCertificate | undefined,
  clusterId: string,
): { readonly node: NodeId } | { readonly refused: string } {
  if (cert === undefined || Object.keys(cert).length === 0) return { refused: 'no client certificate' };
  const uris = (cert.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  const prefix = `spiffe://${clusterId}/node/`;
  const nodes = uris.filter((u) => u.startsWith(prefix)).map((u) => u.slice(prefix.length));
  if (nodes.length === 1 && /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/.test(nodes[0]!)) return { node: nodes[0]! };
  if (nodes.length > 1) return { refused: `a certificate naming several nodes (${nodes.join(', ')})` };
  return {
    refused:
      uris.length === 0
        ? 'a certificate without a spiffe URI (not a node certificate)'
        : `a certificate for ${uris.join(', ')}, not a node of cluster ${clusterId}`,
  };
}

/** PeerTls holds the credentials of a node's peer port and of its links, all fed by one file watcher. */
export interface PeerTls {
  /** server are the peer port's credentials: TLS 1.2+, a client certificate from the CA required. */
  readonly server: grpc.ServerCredentials;
  /** channel are the credentials to dial `peer`: the CA verifies it, and its certificate must name `peer`. */
  readonly channel: (peer: NodeId) => grpc.ChannelCredentials;
}

/**
 * peerTls makes the peer port's credentials from `files`. Both ends present certificates from
 * the same CA; the dialling side accepts the server only when its certificate names the member
 * it meant to reach, and the receiving side (see PeerTransport) accepts a call only when the
 * caller's certificate names the member the call claims to come from. `onUnusable` hears why
 * a reading of the files was skipped.
 */
export function peerTls(
  files: PeerTlsFiles,
  clusterId: string,
  onUnusable: (reason: string) => void = () => undefined,
): PeerTls {
  const watcher = new grpc.experimental.FileWatcherCertificateProvider({
    caCertificateFile: files.caFile,
    certificateFile: files.certFile,
    privateKeyFile: files.keyFile,
    refreshIntervalMs: PEER_TLS_REFRESH_MS,
  });
  const provider = new LastUsableCertificates(watcher, onUnusable);
  return {
    server: grpc.experimental.createCertificateProviderServerCredentials(provider, provider, true),
    channel: (peer) =>
      new ProviderChannelCredentials(provider, {
        checkServerIdentity: (_host, cert) => {
          const identity = certificateIdentity(cert, clusterId);
          if ('node' in identity && identity.node === peer) return undefined;
          const what = 'node' in identity ? `node ${identity.node}` : identity.refused;
          return new Error(`the peer at this address presented ${what}, not ${nodeUri(clusterId, peer)}`);
        },
      }),
  };
}
