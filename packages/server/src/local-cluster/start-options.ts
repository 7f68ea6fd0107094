/** NODES_DEFAULT is the size of the cluster `npm start` runs without OMNIRELAY_NODES. */
export const NODES_DEFAULT = 3;

/** BASE_PORT_DEFAULT is OMNIRELAY_BASE_PORT's default: peers on 7101.., HTTP on 7201.., gRPC on 7301... */
export const BASE_PORT_DEFAULT = 7100;

/** BASE_PORT_MIN is OMNIRELAY_BASE_PORT's lowest value (0 aside, which picks free ports). */
export const BASE_PORT_MIN = 1024;

/** BASE_PORT_MAX is OMNIRELAY_BASE_PORT's highest value: node i's gRPC port base+200+i stays a port. */
export const BASE_PORT_MAX = 65_000;

/** SECURE_FLAG is the argument (`npm start -- --secure`) that turns on TLS and client certificates. */
export const SECURE_FLAG = '--secure';

/** SECURE_ENV stands in for SECURE_FLAG: 1 or true turn it on, 0, false or empty leave it off. */
export const SECURE_ENV = 'OMNIRELAY_SECURE';

/** StartOptions is what `npm start` runs: see parseStartOptions. */
export interface StartOptions {
  readonly size: number;
  /** basePort: 0 picks free ports. */
  readonly basePort: number;
  /** dataRoot is relative to the working folder, as given. */
  readonly dataRoot: string;
  /** secure runs the cluster with a generated CA, peer mTLS and TLS plus client certificates. */
  readonly secure: boolean;
}

/** StartUsageError is a bad argument or environment variable of `npm start`; it names the setting. */
export class StartUsageError extends Error {
  override readonly name = 'StartUsageError';
  readonly code = 'INVALID_ARGUMENT';
}

/**
 * parseStartOptions reads `npm start`'s arguments (`argv`, after the script) and environment:
 * OMNIRELAY_NODES (1-7, default 3), OMNIRELAY_BASE_PORT (1024-65000, or 0 for free ports;
 * default 7100), OMNIRELAY_DATA (default `data`), and SECURE_FLAG or SECURE_ENV. Anything else on
 * the command line, or a bad value, is a StartUsageError.
 */
export function parseStartOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): StartOptions {
  for (const arg of argv) {
    if (arg !== SECURE_FLAG) {
      throw new StartUsageError(
        `unknown argument ${JSON.stringify(arg)}; the only one is ${SECURE_FLAG} (npm start -- ${SECURE_FLAG})`,
      );
    }
  }
  const basePort = intFromEnv(env, 'OMNIRELAY_BASE_PORT', BASE_PORT_DEFAULT, BASE_PORT_MIN, BASE_PORT_MAX, 0);
  return {
    size: intFromEnv(env, 'OMNIRELAY_NODES', NODES_DEFAULT, 1, 7),
    basePort,
    dataRoot:
      env['OMNIRELAY_DATA'] === undefined || env['OMNIRELAY_DATA'] === '' ? 'data' : env['OMNIRELAY_DATA'],
    secure: argv.includes(SECURE_FLAG) || boolFromEnv(env, SECURE_ENV),
  };
}

function intFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  min: number,
  max: number,
  also?: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (/^\d+$/.test(raw) && (n === also || (n >= min && n <= max))) return n;
  const extra = also === undefined ? '' : `, or ${also}`;
  throw new StartUsageError(
    `${name} must be an integer in [${min}, ${max}]${extra}, got ${JSON.stringify(raw)}`,
  );
}

function boolFromEnv(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new StartUsageError(`${name} must be 1, true, 0 or false, got ${JSON.stringify(raw)}`);
}
