import type { CreatedToken } from '../token/tokens-file';
import { jsonDocument } from './json';

/**
 * createdNotice is the stderr line of `token create`: what was added where, and that the token
 * (printed alone on stdout) is shown only this once. It never contains the token.
 */
export function createdNotice(created: CreatedToken): string {
  const { entry } = created;
  const roles = entry.roles.length === 0 ? 'no roles' : `roles ${entry.roles.join(',')}`;
  const scopes = entry.scopes.length === 0 ? 'no scope prefixes' : `scope prefixes ${entry.scopes.join(',')}`;
  return `omnirelay: ${created.replaced ? 'replaced' : 'added'} token ${JSON.stringify(entry.name)} (${roles}; ${scopes}) in ${created.tokensFile}; the token on stdout is shown only this once: store it now\n`;
}

/** createdJson renders `{"name", "token", "sha256", "roles", "scopes", "tokensFile", "replaced"}`. */
export function createdJson(created: CreatedToken): string {
  const { entry } = created;
  return jsonDocument({
    name: entry.name,
    token: created.token,
    sha256: entry.sha256,
    roles: entry.roles,
    scopes: entry.scopes,
    tokensFile: created.tokensFile,
    replaced: created.replaced,
  });
}

/** revokedText is the line `token revoke` prints. */
export function revokedText(name: string, tokensFile: string): string {
  return `revoked token ${JSON.stringify(name)}: removed from ${tokensFile}\n`;
}

/** revokedJson renders `{"name", "tokensFile", "revoked": true}`. */
export function revokedJson(name: string, tokensFile: string): string {
  return jsonDocument({ name, tokensFile, revoked: true });
}
