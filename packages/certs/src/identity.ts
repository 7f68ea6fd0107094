/**
 * How a certificate names who it belongs to, in its subjectAltName URIs. Nodes and clients are
 * told apart by the path of their SPIFFE-style URI; a client's roles and scope prefixes are more
 * URIs in fixed forms, so a server reads them without parsing any other extension:
 *
 *   spiffe://<clusterId>/node/<id>        a node (peer and server), exactly one per node cert
 *   spiffe://<clusterId>/client/<name>    a client, exactly one per client cert
 *   omnirelay:role:<role>                 a role granted to the client, one URI per role
 *   omnirelay:scope:<prefix>              a scope prefix the client may campaign for, one per prefix
 */

/** SPIFFE_SCHEME starts every identity URI. */
export const SPIFFE_SCHEME = 'spiffe://';

/** ROLE_URI_PREFIX starts the URI SAN that grants a role: `omnirelay:role:mesh.read`. */
export const ROLE_URI_PREFIX = 'omnirelay:role:';

/** SCOPE_PREFIX_URI_PREFIX starts the URI SAN that grants a scope prefix: `omnirelay:scope:shard/orders/`. */
export const SCOPE_PREFIX_URI_PREFIX = 'omnirelay:scope:';

/** CLIENT_ROLES are the roles a client certificate can grant (the RBAC roles of issue 16). */
export const CLIENT_ROLES = ['mesh.read', 'mesh.operate', 'mesh.admin'] as const;

/** ClientRole is one of CLIENT_ROLES. */
export type ClientRole = (typeof CLIENT_ROLES)[number];

/** IdentityKind tells a node certificate from a client certificate. */
export type IdentityKind = 'node' | 'client';

/** identityUri is the URI SAN naming node `id` or client `name` of cluster `clusterId`. */
export function identityUri(kind: IdentityKind, clusterId: string, name: string): string {
  return `${SPIFFE_SCHEME}${clusterId}/${kind}/${name}`;
}

/** roleUri is the URI SAN that grants `role`. */
export function roleUri(role: string): string {
  return `${ROLE_URI_PREFIX}${role}`;
}

/** scopePrefixUri is the URI SAN that grants the scopes starting with `prefix`. */
export function scopePrefixUri(prefix: string): string {
  return `${SCOPE_PREFIX_URI_PREFIX}${prefix}`;
}

/** CertIdentity is what a certificate's URI SANs say about its holder. */
export interface CertIdentity {
  readonly kind: IdentityKind;
  readonly clusterId: string;
  /** name is the node id or the client name. */
  readonly name: string;
  readonly roles: readonly string[];
  readonly scopePrefixes: readonly string[];
}

const identityPattern = /^spiffe:\/\/([^/]+)\/(node|client)\/([^/]+)$/;

/**
 * identityFromUris reads a certificate's URI SANs back into a CertIdentity. It answers undefined
 * unless exactly one URI is an identity URI, so a certificate can never claim two identities.
 * Roles and scope prefixes are returned as written (a reader decides which roles it knows);
 * URIs of other forms are ignored.
 */
export function identityFromUris(uris: readonly string[]): CertIdentity | undefined {
  const identities = uris.flatMap((uri) => {
    const m = identityPattern.exec(uri);
    return m === null ? [] : [m];
  });
  const only = identities.length === 1 ? identities[0] : undefined;
  if (only === undefined) return undefined;
  return {
    kind: only[2] as IdentityKind,
    clusterId: only[1]!,
    name: only[3]!,
    roles: withPrefix(uris, ROLE_URI_PREFIX),
    scopePrefixes: withPrefix(uris, SCOPE_PREFIX_URI_PREFIX),
  };
}

function withPrefix(uris: readonly string[], prefix: string): string[] {
  return uris
    .filter((u) => u.startsWith(prefix) && u.length > prefix.length)
    .map((u) => u.slice(prefix.length));
}
