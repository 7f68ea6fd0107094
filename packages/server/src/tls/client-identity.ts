import type { PeerCertificate } from 'node:tls';

/**
 * ClientIdentity is what the verified certificate of a client-port caller says about it; access
 * control (auth/access-control.ts) reads it.
 */
export interface ClientIdentity {
  /** kind is `node` or `client` for a spiffe identity of this layout, `other` for any other certificate. */
  readonly kind: 'node' | 'client' | 'other';
  /** name is the node id or client name; for `other`, the certificate's subject CN (or ''). */
  readonly name: string;
  /** clusterId is the cluster the spiffe identity names ('' for `other`). */
  readonly clusterId: string;
  /** roles are the `omnirelay:role:<role>` URI SANs, as written. */
  readonly roles: readonly string[];
  /** scopePrefixes are the `omnirelay:scope:<prefix>` URI SANs, as written. */
  readonly scopePrefixes: readonly string[];
}

const IDENTITY_PATTERN = /^spiffe:\/\/([^/]+)\/(node|client)\/([^/]+)$/;
const ROLE_URI_PREFIX = 'omnirelay:role:';
const SCOPE_PREFIX_URI_PREFIX = 'omnirelay:scope:';

/**
 * clientIdentityOf reads the identity out of a client certificate the TLS layer already
 * verified (`omnirelay cert issue` layout: one spiffe URI SAN, role and scope URIs), or
 * undefined when the caller presented none. A certificate with zero or several spiffe identities
 * is `other`, named by its CN, so it can never claim two identities.
 */
export function clientIdentityOf(cert: PeerCertificate | undefined): ClientIdentity | undefined {
  if (cert === undefined || Object.keys(cert).length === 0) return undefined;
  const cn = cert.subject?.CN;
  return identityOfNames(cert.subjectaltname, Array.isArray(cn) ? cn[0] : cn);
}

/**
 * identityOfNames reads the identity out of a certificate's subjectAltName text (`URI:…, DNS:…`,
 * as Node prints it) and its subject CN: the work of clientIdentityOf, for any certificate form.
 */
export function identityOfNames(subjectAltName: string | undefined, cn: string | undefined): ClientIdentity {
  const uris = (subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  const withPrefix = (prefix: string): string[] =>
    uris.filter((u) => u.startsWith(prefix) && u.length > prefix.length).map((u) => u.slice(prefix.length));
  const matches = uris.flatMap((u) => {
    const m = IDENTITY_PATTERN.exec(u);
    return m === null ? [] : [m];
  });
  const only = matches.length === 1 ? matches[0] : undefined;
  return {
    kind: only === undefined ? 'other' : (only[2] as 'node' | 'client'),
    name: only === undefined ? (cn ?? '') : only[3]!,
    clusterId: only === undefined ? '' : only[1]!,
    roles: withPrefix(ROLE_URI_PREFIX),
    scopePrefixes: withPrefix(SCOPE_PREFIX_URI_PREFIX),
  };
}
