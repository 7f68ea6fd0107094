/**
 * CertErrorCode is every way issuing a certificate can fail:
 * - INVALID_ARGUMENT: a bad option (an id, a SAN, a role, a validity window); nothing was written.
 * - ALREADY_EXISTS: a file to write exists and overwriting was not asked for; nothing was written.
 * - NOT_FOUND: the CA's `ca.crt` or `ca.key` is missing.
 * - INVALID_CA: the CA files are not a usable CA (not PEM, not a CA certificate, a key that does
 *   not match the certificate, not an ECDSA P-256 key).
 * - INVALID_TOKENS_FILE: a tokens file (`omnirelay token`) is not the YAML it must be; nothing was written.
 * - IO_FAILED: the file system refused a read or write (permissions, a full disk).
 */
export type CertErrorCode =
  'INVALID_ARGUMENT' | 'ALREADY_EXISTS' | 'NOT_FOUND' | 'INVALID_CA' | 'INVALID_TOKENS_FILE' | 'IO_FAILED';

/** CERT_ERROR_CODES lists every CertErrorCode, so a guard can check a code it did not make. */
export const CERT_ERROR_CODES: readonly CertErrorCode[] = [
  'INVALID_ARGUMENT',
  'ALREADY_EXISTS',
  'NOT_FOUND',
  'INVALID_CA',
  'INVALID_TOKENS_FILE',
  'IO_FAILED',
];

/**
 * CertError is a failure of `issueCa`, `issueNode` or `issueClient`, or of the CLI's tokens-file
 * commands, which issue the other kind of client credential: a code, what went wrong (`message`)
 * and what to do next (`next`). Each caller maps the code to its own edge (the CLI to an exit code).
 */
export class CertError extends Error {
  override readonly name = 'CertError';

  constructor(
    readonly code: CertErrorCode,
    message: string,
    readonly next: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * isCertError tells whether `e` is a CertError (with `code`, when given). It checks the name and
 * fields rather than `instanceof`, which breaks across Jest realms.
 */
export function isCertError(e: unknown, code?: CertErrorCode): e is CertError {
  if (typeof e !== 'object' || e === null) return false;
  const c = e as Partial<CertError>;
  return (
    c.name === 'CertError' &&
    typeof c.code === 'string' &&
    (CERT_ERROR_CODES as readonly string[]).includes(c.code) &&
    (code === undefined || c.code === code)
  );
}
