import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { TlsOptions } from '@omnirelay/client-sdk';
import { tokenProblem } from '@omnirelay/client-sdk';
import { usageError } from './cli-error';

/** DEFAULT_ENDPOINTS are the gRPC addresses of the 3-node cluster `npm start` runs (base port 7100 + 200 + i). */
export const DEFAULT_ENDPOINTS: readonly string[] = ['127.0.0.1:7301', '127.0.0.1:7302', '127.0.0.1:7303'];

/** ENDPOINTS_ENV names the environment variable that gives the endpoints when --endpoints does not. */
export const ENDPOINTS_ENV = 'OMNIRELAY_ENDPOINTS';

/** ENDPOINTS_MAX bounds how many endpoints one command may be given. */
export const ENDPOINTS_MAX = 64;

/** TIMEOUT_MS_DEFAULT bounds each call (retries included) unless --timeout says otherwise. */
export const TIMEOUT_MS_DEFAULT = 5000;

/** TIMEOUT_MS_MAX is the largest --timeout accepted (10 minutes). */
export const TIMEOUT_MS_MAX = 600_000;

/** FENCE_MAX is the largest fence token: fences are uint64. */
export const FENCE_MAX = 2n ** 64n - 1n;

/** OUTPUT_FORMATS are the values of -o/--output. */
export const OUTPUT_FORMATS = ['table', 'json'] as const;

/** OutputFormat is one of OUTPUT_FORMATS. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * resolveEndpoints picks the endpoints: --endpoints, else $OMNIRELAY_ENDPOINTS, else
 * DEFAULT_ENDPOINTS; then parses them (see parseEndpoints).
 */
export function resolveEndpoints(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  if (flag !== undefined) return parseEndpoints(flag, '--endpoints');
  const fromEnv = env[ENDPOINTS_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseEndpoints(fromEnv, ENDPOINTS_ENV);
  return [...DEFAULT_ENDPOINTS];
}

/**
 * parseEndpoints reads a comma-separated list of `host:port` (port 1-65535), without
 * duplicates, in the order given; `source` names where the list came from in the error.
 */
export function parseEndpoints(text: string, source: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) {
    throw usageError(`${source} is empty`, 'give host:port of at least one node, e.g. 127.0.0.1:7301');
  }
  if (items.length > ENDPOINTS_MAX) {
    throw usageError(
      `${source} lists ${items.length} endpoints (at most ${ENDPOINTS_MAX})`,
      'give a few nodes; the others are learned',
    );
  }
  for (const item of items) {
    if (!isHostPort(item)) {
      throw usageError(
        `endpoint ${JSON.stringify(item)} in ${source} is not host:port`,
        'give host:port with a port from 1 to 65535, e.g. 127.0.0.1:7301',
      );
    }
  }
  return [...new Set(items)];
}

/** isHostPort tells whether `text` is `host:port` with no spaces or slashes and a port from 1 to 65535. */
export function isHostPort(text: string): boolean {
  const match = /^([^\s:/]+):(\d{1,5})$/.exec(text);
  const port = match === null ? 0 : Number(match[2]);
  return match !== null && port >= 1 && port <= 65_535;
}

/** parseAddress reads one `host:port` argument (see isHostPort); `flag` names it in the error. */
export function parseAddress(text: string, flag: string): string {
  if (!isHostPort(text)) {
    throw usageError(
      `${flag} ${JSON.stringify(text)} is not host:port`,
      'give host:port with a port from 1 to 65535, e.g. 127.0.0.1:7104',
    );
  }
  return text;
}

/** parseTimeoutMs reads --timeout: a whole number of milliseconds from 1 to TIMEOUT_MS_MAX. */
export function parseTimeoutMs(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > TIMEOUT_MS_MAX) {
    throw usageError(
      `--timeout ${JSON.stringify(text)} is not a number of milliseconds from 1 to ${TIMEOUT_MS_MAX}`,
      'give e.g. --timeout 5000',
    );
  }
  return ms;
}

/**
 * parseFence reads a fence token: a decimal uint64 from 1 to 2^64-1 (no sign, no exponent; the
 * cluster never issues 0, and refuses it as INVALID_ARGUMENT).
 */
export function parseFence(text: string, flag: string): bigint {
  if (!/^\d{1,20}$/.test(text) || BigInt(text) < 1n || BigInt(text) > FENCE_MAX) {
    throw usageError(
      `${flag} ${JSON.stringify(text)} is not a fence token`,
      'fence tokens are whole numbers from 1 to 18446744073709551615, as the holder received them',
    );
  }
  return BigInt(text);
}

/** parseScope checks a scope argument is non-empty and one line; the cluster validates the rest. */
export function parseScope(text: string, flag: string): string {
  if (text === '' || /\s/.test(text)) {
    throw usageError(
      `${flag} ${JSON.stringify(text)} is not a scope name`,
      'give a scope such as global-control or shard/<namespace>/<shardId>',
    );
  }
  return text;
}

/** parseId checks a candidate or node id argument is non-empty and one line. */
export function parseId(text: string, flag: string): string {
  if (text === '' || /\s/.test(text)) {
    throw usageError(`${flag} ${JSON.stringify(text)} is not an id`, 'give the id without spaces');
  }
  return text;
}

/** parsePositiveMs reads a whole, positive number of milliseconds for `flag`. */
export function parsePositiveMs(text: string, flag: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw usageError(
      `${flag} ${JSON.stringify(text)} is not a positive number of milliseconds`,
      `give e.g. ${flag} 10000`,
    );
  }
  return ms;
}

/** parseOutput reads -o/--output. */
export function parseOutput(text: string): OutputFormat {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(text)) {
    throw usageError(
      `-o/--output ${JSON.stringify(text)} is not an output format`,
      `use one of: ${OUTPUT_FORMATS.join(', ')}`,
    );
  }
  return text as OutputFormat;
}

/** TLS_ENV names the environment variables (etcdctl's names) that stand in for --cacert, --cert and --key. */
export const TLS_ENV = { cacert: 'OMNIRELAY_CACERT', cert: 'OMNIRELAY_CERT', key: 'OMNIRELAY_KEY' } as const;

/** TlsFlags are the raw --cacert, --cert and --key values. */
export interface TlsFlags {
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
}

/**
 * resolveTls reads the TLS files the client dials with: each of --cacert, --cert and --key, else
 * its TLS_ENV variable. None given: undefined (plaintext h2c). --cert and --key go together;
 * --cacert alone trusts that CA and presents no certificate; --cert and --key alone trust the
 * system's roots. A file that cannot be read is one usage error naming the flag and the file.
 */
export function resolveTls(
  flags: TlsFlags,
  env: Readonly<Record<string, string | undefined>>,
): TlsOptions | undefined {
  const pick = (name: keyof TlsFlags): { source: string; file: string } | undefined => {
    const flag = flags[name];
    if (flag !== undefined) return { source: `--${name}`, file: flag };
    const fromEnv = env[TLS_ENV[name]];
    return fromEnv === undefined || fromEnv === '' ? undefined : { source: TLS_ENV[name], file: fromEnv };
  };
  const cacert = pick('cacert');
  const cert = pick('cert');
  const key = pick('key');
  if (cacert === undefined && cert === undefined && key === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw usageError(
      `${cert?.source ?? key?.source ?? '--cert'} is given without ${cert === undefined ? '--cert' : '--key'}`,
      'give both --cert and --key for a client certificate, or neither',
    );
  }
  const read = (given: { source: string; file: string }): Buffer => {
    try {
      return readFileSync(given.file);
    } catch (e) {
      throw usageError(
        `${given.source} ${given.file}: ${fileProblem(e)}`,
        'give a readable PEM file (omnirelay cert issue makes them)',
      );
    }
  };
  return {
    ...(cacert === undefined ? {} : { ca: read(cacert) }),
    ...(cert === undefined ? {} : { cert: read(cert) }),
    ...(key === undefined ? {} : { key: read(key) }),
  };
}

/** TOKEN_ENV names the environment variables that stand in for --token and --token-file. */
export const TOKEN_ENV = { token: 'OMNIRELAY_TOKEN', tokenFile: 'OMNIRELAY_TOKEN_FILE' } as const;

/**
 * TOKEN_FILE_BYTES_MAX is how much of a --token-file is read: its first line holds the token (at
 * most TOKEN_LENGTH_MAX characters), so a longer first line is malformed anyway.
 */
export const TOKEN_FILE_BYTES_MAX = 4096;

/** TokenFlags are the raw --token and --token-file values. */
export interface TokenFlags {
  readonly token?: string;
  readonly tokenFile?: string;
}

/**
 * resolveToken reads the bearer token the client sends: --token or --token-file (the file's first
 * line, trimmed), else OMNIRELAY_TOKEN or OMNIRELAY_TOKEN_FILE; none: undefined. Giving both of a
 * pair, an unreadable file, or a malformed token (see tokenProblem) is one usage error that names
 * where the token came from and never the token itself.
 */
export function resolveToken(
  flags: TokenFlags,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const fromEnv = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const pair =
    flags.token !== undefined || flags.tokenFile !== undefined
      ? { token: flags.token, file: flags.tokenFile, tokenSource: '--token', fileSource: '--token-file' }
      : {
          token: fromEnv(TOKEN_ENV.token),
          file: fromEnv(TOKEN_ENV.tokenFile),
          tokenSource: TOKEN_ENV.token,
          fileSource: TOKEN_ENV.tokenFile,
        };
  if (pair.token !== undefined && pair.file !== undefined) {
    throw usageError(
      `${pair.tokenSource} and ${pair.fileSource} are both given`,
      `give one; prefer ${pair.fileSource}, since a token on a command line shows in ps`,
    );
  }
  if (pair.token === undefined && pair.file === undefined) return undefined;
  const source = pair.file === undefined ? pair.tokenSource : `${pair.fileSource} ${pair.file}`;
  const token = pair.file === undefined ? pair.token! : readTokenFile(pair.file, pair.fileSource);
  const problem = tokenProblem(token);
  if (problem !== undefined) {
    throw usageError(
      `the token from ${source} ${problem}`,
      'give the token exactly as omnirelay token create printed it',
    );
  }
  return token;
}

/** readTokenFile reads the first line of a token file (at most TOKEN_FILE_BYTES_MAX bytes), trimmed. */
function readTokenFile(file: string, source: string): string {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(TOKEN_FILE_BYTES_MAX);
      text = buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw usageError(
      `${source} ${file}: ${fileProblem(e)}`,
      'give a readable file whose first line is the token',
    );
  }
  return (text.split('\n')[0] ?? '').trim();
}

/** fileProblem says in a few words why a file could not be read. */
function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder';
  return 'cannot be read';
}
