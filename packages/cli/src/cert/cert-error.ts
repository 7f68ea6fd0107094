import type { ExitCode } from '../exit-codes';
import { EXIT } from '../exit-codes';

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

/**
 * CERT_EXIT_CODE maps each CertErrorCode to the CLI's exit code. ALREADY_EXISTS is a conflict
 * (5), so a provisioning script can tell "already issued" from a bad option (2).
 */
export const CERT_EXIT_CODE: Readonly<Record<CertErrorCode, ExitCode>> = {
  INVALID_ARGUMENT: EXIT.USAGE,
  ALREADY_EXISTS: EXIT.REJECTED,
  NOT_FOUND: EXIT.NOT_FOUND,
  INVALID_CA: EXIT.USAGE,
  INVALID_TOKENS_FILE: EXIT.USAGE,
  IO_FAILED: EXIT.INTERNAL,
};

/**
 * CertError is a failure of `issueCa`, `issueNode` or `issueClient`, or of the tokens-file
 * commands (token/tokens-file.ts), which issue the other kind of client credential: a code, what
 * went wrong (`message`), what to do next (`next`) and the CLI exit code that code maps to.
 */
export class CertError extends Error {
  override readonly name = 'CertError';
  /** exitCode is CERT_EXIT_CODE[code]. */
  readonly exitCode: ExitCode;

  constructor(
    readonly code: CertErrorCode,
    message: string,
    readonly next: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.exitCode = CERT_EXIT_CODE[code];
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
    Object.hasOwn(CERT_EXIT_CODE, c.code) &&
    (code === undefined || c.code === code)
  );
}
