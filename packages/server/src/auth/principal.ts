import type { ClientIdentity } from '../tls/client-identity';

/** ROLES are the roles of the client ports' access control, each granting the ones after it. */
export const ROLES = ['mesh.admin', 'mesh.operate', 'mesh.read'] as const;

/** Role is one of ROLES. */
export type Role = (typeof ROLES)[number];

/** SCOPE_PREFIX_ANY, as a granted scope prefix, grants every scope. */
export const SCOPE_PREFIX_ANY = '*';

/**
 * Principal is an authenticated caller: the name the audit records (`client/<name>` for a client
 * certificate, `token/<name>` for a bearer token, `cn/<CN>` for a certificate of another layout),
 * the roles it holds, and the scope prefixes it may campaign for.
 */
export interface Principal {
  readonly name: string;
  readonly roles: readonly string[];
  readonly scopePrefixes: readonly string[];
}

/** isRole tells a known role from any other text (an unknown role grants nothing). */
export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

/**
 * hasRole tells whether `principal` holds `role`, directly or through a role that nests it:
 * mesh.admin grants mesh.operate, which grants mesh.read.
 */
export function hasRole(principal: Principal, role: Role): boolean {
  const needed = ROLES.indexOf(role);
  return principal.roles.some((r) => isRole(r) && ROLES.indexOf(r) <= needed);
}

/** mayCampaign tells whether one of `principal`'s scope prefixes covers `scope`. */
export function mayCampaign(principal: Principal, scope: string): boolean {
  return principal.scopePrefixes.some(
    (prefix) => prefix === SCOPE_PREFIX_ANY || (prefix !== '' && scope.startsWith(prefix)),
  );
}

/**
 * certificatePrincipal is the principal a verified client certificate names: a client identity
 * of cluster `clusterId` with its roles and scope prefixes, or a certificate of another layout
 * named by its CN and granted nothing. It is undefined for a node certificate (a node never
 * authenticates a caller: a forwarded call is authorized as the caller it forwards, or not at
 * all) and for a client identity of another cluster.
 */
export function certificatePrincipal(identity: ClientIdentity, clusterId: string): Principal | undefined {
  if (identity.kind === 'node') return undefined;
  if (identity.kind === 'client') {
    if (identity.clusterId !== clusterId) return undefined;
    return {
      name: `client/${identity.name}`,
      roles: identity.roles,
      scopePrefixes: identity.scopePrefixes,
    };
  }
  return { name: `cn/${identity.name}`, roles: [], scopePrefixes: [] };
}

/** describeGrants lists a principal's roles and scope prefixes for an error message. */
export function describeGrants(principal: Principal): string {
  const roles = principal.roles.length === 0 ? 'no role' : `roles ${principal.roles.join(', ')}`;
  const scopes =
    principal.scopePrefixes.length === 0
      ? 'no scope prefix'
      : `scope prefixes ${principal.scopePrefixes.join(', ')}`;
  return `${roles}; ${scopes}`;
}
