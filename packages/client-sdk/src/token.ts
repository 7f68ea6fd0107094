import { OmniRelayError } from './errors';

/**
 * Bearer tokens: the client sends `authorization: Bearer <token>` on every call and stream, and
 * the node looks the token's SHA-256 up in its tokens file. The token is a secret: nothing here
 * ever puts it into an error message, only what is wrong with it.
 */

/** TOKEN_LENGTH_MIN is the fewest characters a bearer token may have (the server's rule). */
export const TOKEN_LENGTH_MIN = 16;

/** TOKEN_LENGTH_MAX is the most characters a bearer token may have (the server's rule). */
export const TOKEN_LENGTH_MAX = 512;

/** TOKEN_CHARSET names the characters a bearer token may use, for messages. */
export const TOKEN_CHARSET = 'A-Z a-z 0-9 . _ ~ + / = -';

const tokenCharacter = /^[A-Za-z0-9._~+/=-]$/;

/**
 * TokenSource is a bearer token, or a function that returns the current one. A function is
 * called for every call and every stream the client opens (reconnects included), so a rotated
 * token applies without a new client; a stream keeps the token it was opened with.
 */
export type TokenSource = string | (() => string);

/**
 * tokenProblem says what is wrong with `token` as a bearer token (16-512 characters from
 * TOKEN_CHARSET), or undefined when nothing is. The answer never contains the token.
 */
export function tokenProblem(token: unknown): string | undefined {
  if (typeof token !== 'string') return `is not a string (got ${token === null ? 'null' : typeof token})`;
  if (token.length < TOKEN_LENGTH_MIN || token.length > TOKEN_LENGTH_MAX) {
    return `has ${token.length} characters; a bearer token has ${TOKEN_LENGTH_MIN} to ${TOKEN_LENGTH_MAX}`;
  }
  for (let i = 0; i < token.length; i++) {
    const c = token[i]!;
    if (tokenCharacter.test(c)) continue;
    const what = /\s/.test(c) ? 'a space or line break' : 'a character a token may not have';
    return `has ${what} at position ${i + 1}; a bearer token uses only ${TOKEN_CHARSET}`;
  }
  return undefined;
}

/**
 * checkTokenSource checks `createClient`'s `token` option up front: a string must be a valid
 * token (tokenProblem); a function is checked each time it is read (bearerHeader). Anything else
 * is INVALID_ARGUMENT.
 */
export function checkTokenSource(source: unknown): TokenSource {
  if (typeof source === 'function') return source as () => string;
  const problem = tokenProblem(source);
  if (problem !== undefined) {
    throw new OmniRelayError(
      'INVALID_ARGUMENT',
      `token ${problem}; give the token exactly as it was issued (omnirelay token create), or a function that returns it`,
    );
  }
  return source as string;
}

/**
 * bearerHeader is the `authorization` metadata value for `source`, read now: it calls a token
 * function and checks what it returns. A function that throws or returns a bad token fails the
 * call with INVALID_ARGUMENT (the provider's error is the `cause`); nothing is sent.
 */
export function bearerHeader(source: TokenSource): string {
  if (typeof source === 'string') return `Bearer ${source}`;
  let token: unknown;
  try {
    token = source();
  } catch (e) {
    throw new OmniRelayError(
      'INVALID_ARGUMENT',
      'the token function threw; the call was not sent (see the cause)',
      {},
      { cause: e },
    );
  }
  const problem = tokenProblem(token);
  if (problem !== undefined) {
    throw new OmniRelayError(
      'INVALID_ARGUMENT',
      `the token the token function returned ${problem}; the call was not sent`,
    );
  }
  return `Bearer ${token as string}`;
}
