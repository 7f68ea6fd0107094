import { FenceGuard, isOmniRelayError } from '@omnirelay/client-sdk';

/** STORE_SCOPE_LENGTH_MAX bounds a write's scope name (the cluster allows shorter ones still). */
export const STORE_SCOPE_LENGTH_MAX = 512;
/** STORE_WRITER_LENGTH_MAX bounds a write's writer (candidate id). */
export const STORE_WRITER_LENGTH_MAX = 256;
/** STORE_BODY_BYTES_MAX bounds a request body: a write is three short fields. */
export const STORE_BODY_BYTES_MAX = 4096;
/** FENCE_TOKEN_MAX is the largest fence token (a uint64, as the cluster issues them). */
const FENCE_TOKEN_MAX = 2n ** 64n - 1n;

/** StoreWrite is one validated write request: `writer` (a candidate id) writes to `scope` with `fence`. */
export interface StoreWrite {
  readonly scope: string;
  readonly fence: bigint;
  readonly writer: string;
}

/**
 * StoreDecision is the store's answer to one request: the HTTP status and JSON body, and the log
 * line to append (chaos/README.md, "Fenced store log") when the request was a valid write.
 */
export interface StoreDecision {
  readonly status: 200 | 400 | 409;
  readonly body: object;
  readonly logLine: string | undefined;
}

/** StoreMode is how the store decides: `fenced` (FenceGuard) or `skip-fence` (a broken build that accepts all). */
export type StoreMode = 'fenced' | 'skip-fence';

function badRequest(message: string): StoreDecision {
  return {
    status: 400,
    body: { error: { code: 'INVALID_ARGUMENT', message: `${message}; send {"scope","fence","writer"}` } },
    logLine: undefined,
  };
}

/**
 * parseStoreWrite reads a write request's JSON text: `scope` and `writer` non-empty strings
 * within their bounds, `fence` a decimal string from 1 to 2^64−1. It returns the write, or a
 * message naming the field that is wrong.
 */
export function parseStoreWrite(text: string): StoreWrite | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'the body is not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'the body is not a JSON object';
  const { scope, fence, writer } = parsed as Record<string, unknown>;
  if (typeof scope !== 'string' || scope === '' || scope.length > STORE_SCOPE_LENGTH_MAX) {
    return `"scope" must be a string of 1 to ${STORE_SCOPE_LENGTH_MAX} characters`;
  }
  if (typeof writer !== 'string' || writer === '' || writer.length > STORE_WRITER_LENGTH_MAX) {
    return `"writer" must be a string of 1 to ${STORE_WRITER_LENGTH_MAX} characters`;
  }
  if (typeof fence !== 'string' || !/^[1-9]\d{0,19}$/.test(fence) || BigInt(fence) > FENCE_TOKEN_MAX) {
    return `"fence" must be a decimal string from 1 to ${FENCE_TOKEN_MAX}`;
  }
  return { scope, fence: BigInt(fence), writer };
}

/**
 * FencedStore is the chaos workload's fenced resource, without its I/O: per scope, a FenceGuard
 * admits a write whose fence is not below the highest admitted, and every decision becomes one
 * log record `{scope, fence, writer, outcome, time}`. In `skip-fence` mode (a deliberately
 * broken build for the checkers' own tests) it accepts every write, stale or not.
 */
export class FencedStore {
  private readonly guard = new FenceGuard();

  constructor(private readonly mode: StoreMode) {}

  /** decide answers the request body `text` received at monotonic `timeNs` (process.hrtime.bigint()). */
  decide(text: string, timeNs: bigint): StoreDecision {
    const write = parseStoreWrite(text);
    if (typeof write === 'string') return badRequest(write);
    let rejection: { message: string; current: bigint } | undefined;
    if (this.mode === 'fenced') {
      try {
        this.guard.admit(write.scope, write.fence);
      } catch (e) {
        if (!isOmniRelayError(e, 'STALE_FENCE')) throw e;
        rejection = { message: e.message, current: this.guard.highestFence(write.scope) };
      }
    }
    const logLine = `${JSON.stringify({
      scope: write.scope,
      fence: write.fence.toString(),
      writer: write.writer,
      outcome: rejection === undefined ? 'accepted' : 'rejected',
      time: timeNs.toString(),
    })}\n`;
    if (rejection === undefined) return { status: 200, body: { outcome: 'accepted' }, logLine };
    return {
      status: 409,
      body: {
        error: {
          code: 'STALE_FENCE',
          message: rejection.message,
          currentFenceToken: rejection.current.toString(),
        },
      },
      logLine,
    };
  }
}
