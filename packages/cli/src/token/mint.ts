import { createHash, randomBytes } from 'node:crypto';

/** TOKEN_PREFIX starts every token `omnirelay token create` mints, so a leaked one is recognisable. */
export const TOKEN_PREFIX = 'omr_';

/** TOKEN_RANDOM_BYTES is how many random bytes a minted token carries (256 bits). */
export const TOKEN_RANDOM_BYTES = 32;

/**
 * mintToken makes a new bearer token: TOKEN_PREFIX and the base64url text of TOKEN_RANDOM_BYTES
 * bytes from the system's CSPRNG (47 characters, all in the token charset).
 */
export function mintToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(TOKEN_RANDOM_BYTES).toString('base64url')}`;
}

/** tokenSha256 is what a tokens file stores for `token`: the SHA-256 of its UTF-8 text, in lowercase hex. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
