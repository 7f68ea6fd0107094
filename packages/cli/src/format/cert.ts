import type { IssuedFiles } from '@omnirelay/certs';
import { jsonDocument } from './json';

/**
 * issuedText is one line per file an issue call wrote: the key with its mode, then the
 * certificate with `what` it certifies, its serial number and its validity.
 */
export function issuedText(files: IssuedFiles, what: string): string {
  return [
    `wrote ${files.keyPath} (private key, mode 0600)`,
    `wrote ${files.certPath} (${what}; serial ${files.serialNumber}; valid ${files.notBefore.toISOString()} to ${files.notAfter.toISOString()})`,
    '',
  ].join('\n');
}

/** issuedJson renders `{"certPath", "keyPath", "serialNumber", "notBefore", "notAfter"}` (ISO 8601 times). */
export function issuedJson(files: IssuedFiles): string {
  return jsonDocument({
    certPath: files.certPath,
    keyPath: files.keyPath,
    serialNumber: files.serialNumber,
    notBefore: files.notBefore.toISOString(),
    notAfter: files.notAfter.toISOString(),
  });
}
