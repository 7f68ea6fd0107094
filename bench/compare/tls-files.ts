/**
 * The certificate files a bench process (the bench itself, a watch worker thread, a holder child)
 * connects with when a target runs with TLS: paths travel between processes, contents are read
 * where the client is made.
 */
import { readFileSync } from 'node:fs';

/** TlsFiles are PEM files: the CA that signed the servers, and this side's certificate and key. */
export interface TlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** TlsPem is TlsFiles read into memory. */
export interface TlsPem {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** readTls reads the three files of `files`. */
export function readTls(files: TlsFiles): TlsPem {
  return {
    ca: readFileSync(files.caFile),
    cert: readFileSync(files.certFile),
    key: readFileSync(files.keyFile),
  };
}
