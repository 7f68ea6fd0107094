import { isOmniRelayError } from '@omnirelay/client-sdk';
import type { Completion } from './history-writer';

/**
 * REFUSAL_CODES are the errors that prove a call did not take effect: the cluster validated the
 * request and refused it (a deterministic answer that a retry of an applied attempt would not
 * give), or the SDK refused it before sending. Everything else (timeouts, lost connections,
 * NOT_LEADER after retries, LEASE_LOST of a lease granted but unconfirmed) may or may not have
 * taken effect, so it is recorded as `info`.
 */
export const REFUSAL_CODES: ReadonlySet<string> = new Set([
  'INVALID_ARGUMENT',
  'INVALID_SCOPE',
  'TTL_OUT_OF_RANGE',
  'METADATA_TOO_LARGE',
  'HELD_BY_OTHER_SESSION',
  'QUEUE_FULL',
  'SCOPE_LIMIT_REACHED',
  'LIMIT_REACHED',
  'STALE_FENCE',
  'NOT_HOLDER',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
]);

/** outcomeOf classifies a failed call: `fail` with its code for a refusal (REFUSAL_CODES), else `info`. */
export function outcomeOf(e: unknown): { type: Exclude<Completion, 'ok'>; code: string } {
  const code = isOmniRelayError(e) ? e.code : 'UNKNOWN';
  return { type: REFUSAL_CODES.has(code) ? 'fail' : 'info', code };
}

/**
 * storeOutcomeOf classifies the fenced store's answer to a write: 200 ok, 409 (a stale fence)
 * and 400 fail (the store decided and did not apply it); any other status (or none) is info.
 */
export function storeOutcomeOf(status: number | undefined): { type: Completion; code?: string } {
  if (status === 200) return { type: 'ok' };
  if (status === 409) return { type: 'fail', code: 'STALE_FENCE' };
  if (status === 400) return { type: 'fail', code: 'INVALID_ARGUMENT' };
  return { type: 'info', code: status === undefined ? 'UNAVAILABLE' : `HTTP_${status}` };
}
