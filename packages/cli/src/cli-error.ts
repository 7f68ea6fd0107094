import { isCertError } from '@omnirelay/certs';
import type { ErrorCode } from '@omnirelay/client-sdk';
import { isOmniRelayError } from '@omnirelay/client-sdk';
import type { ExitCode } from './exit-codes';
import { CERT_EXIT_CODE, EXIT, exitCodeFor } from './exit-codes';

/**
 * CliError is a failure the CLI itself detects (bad usage, a malformed value, a stale fence on
 * `fence validate`): what went wrong, what to do next, and the exit code.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly next: string,
  ) {
    super(message);
  }
}

/** usageError is a CliError with exit code 2 (bad usage or input). */
export function usageError(message: string, next: string): CliError {
  return new CliError(EXIT.USAGE, message, next);
}

/**
 * NEXT_STEP says, for each SDK error code, what an operator can do next. It is used when the
 * error's own message does not already say (messages that do carry a `; ` clause).
 */
export const NEXT_STEP: Readonly<Record<ErrorCode, string>> = {
  INVALID_ARGUMENT: 'fix the value and run the command again (see --help)',
  NOT_FOUND: 'check the name; list what exists first',
  PAYLOAD_TOO_LARGE: 'send a smaller request',
  NOT_LEADER: "the cluster has no reachable leader right now; retry in a moment or check 'omnirelay status'",
  BACKPRESSURE: 'the cluster is overloaded; retry later',
  TRANSFER_IN_PROGRESS: 'a Raft leadership transfer is under way; retry in a moment',
  NO_QUORUM: "a majority of the voters is not reachable; check 'omnirelay status' and bring nodes back",
  DEADLINE_EXCEEDED: "retry, raise --timeout, or check 'omnirelay status'",
  PROPOSAL_DROPPED: 'the Raft leader changed before the change committed; check the state, then retry',
  CONFIG_CHANGE_IN_PROGRESS: 'wait for the membership change under way to finish, then retry',
  INVALID_CONFIG_CHANGE: "check 'omnirelay cluster members'",
  LEARNER_NOT_CAUGHT_UP: 'wait for the learner to catch up, then retry',
  INVALID_TRANSFER_TARGET: "name a connected voter from 'omnirelay cluster members'",
  STOPPED: 'the node is shutting down; retry, or use another endpoint',
  INVALID_SCOPE: 'scope names are lowercase letters, digits and ._/-, starting with a letter or digit',
  STALE_FENCE: "re-read the holder with 'omnirelay mesh leaders status --scope <scope>'",
  NOT_HOLDER: "check the holder with 'omnirelay mesh leaders status --scope <scope>'",
  NOT_WAITING: 'name a waiting candidate, or give --successor-ttl-ms to hand the scope to any candidate',
  HELD_BY_OTHER_SESSION: 'another process holds the scope under this candidate id; give each process its own',
  TTL_OUT_OF_RANGE: 'use a TTL from 500 ms to 1 h',
  METADATA_TOO_LARGE: 'keep metadata to 1,024 bytes',
  BATCH_TOO_LARGE: 'send fewer items per call',
  QUEUE_FULL: 'too many candidates wait for this scope; retry later',
  SCOPE_LIMIT_REACHED: 'the cluster holds as many scopes as it allows; release some first',
  LIMIT_REACHED:
    'the node serves as many streams or watchers as it allows; close some, or retry later or on another node',
  COMPACTED: 'list the current leaders and watch again',
  UNAUTHENTICATED:
    'give credentials: --token (or OMNIRELAY_TOKEN), or --cert and --key signed by the cluster CA',
  PERMISSION_DENIED:
    'ask an administrator for the missing role or scope prefix, or use an identity that has it',
  CLUSTER_PASSIVE:
    "this cluster is passive; use the active cluster the message names ('omnirelay mesh clusters list')",
  CLUSTER_ACTIVE: 'this cluster is active and mirrors nobody',
  EPOCH_REGRESSION: "give a failover epoch above every epoch shown by 'omnirelay mesh clusters list'",
  FENCE_SPACE_EXHAUSTED:
    'this cluster has used every Raft index a fence can carry; fail over to another cluster',
  MIRROR_OUT_OF_ORDER: 'the mirror already holds that revision; nothing to do',
  INTERNAL: 'the server logged the details; report it with the command you ran',
  UNAVAILABLE: 'check the nodes are running and --endpoints (or OMNIRELAY_ENDPOINTS) is right',
  LEASE_LOST: 'acquire the scope again',
  CANCELLED: 'run the command again',
  CLOSED: 'run the command again, and report it if it repeats',
  SLOW_CONSUMER: 'the watch fell behind; watch again',
};

/** TLS_FAILURE_PATTERN finds the reason of a failed TLS handshake in a connection error's text. */
const TLS_FAILURE_PATTERN =
  /(unable to verify[^.;:()]*|self[- ]signed certificate[^.;:()]*|certificate required|certificate verify failed|bad certificate|unknown ca|wrong version number|packet length too long|does not match certificate's altnames[^.;()]*)/i;

/**
 * tlsFailureHint names a failed TLS handshake behind an unreachable endpoint, with what to check
 * (--cacert, --cert, --key), or undefined when `message` is no TLS failure.
 */
export function tlsFailureHint(message: string): string | undefined {
  const reason = TLS_FAILURE_PATTERN.exec(message)?.[1];
  if (reason === undefined) return undefined;
  return `the TLS handshake failed (${reason.trim()}): check --cacert names the CA that signed the nodes' certificates, and --cert/--key when the nodes require a client certificate`;
}

/** Failure is how a failed command ends: its one stderr line (without the newline) and exit code. */
export interface Failure {
  readonly line: string;
  readonly exitCode: ExitCode;
}

/**
 * describeFailure turns anything a command threw into ONE line, `omnirelay: <what went wrong>;
 * <what to do next>`, and the exit code. SDK errors keep their message and name their code;
 * certificate errors (cert/cert-error.ts) keep their message and next step; anything else is an
 * internal error whose stack is never shown.
 */
export function describeFailure(e: unknown): Failure {
  if (e instanceof CliError || (isNamed(e, 'CliError') && typeof (e as CliError).exitCode === 'number')) {
    const c = e as CliError;
    return { line: oneLine(c.message, c.next), exitCode: c.exitCode };
  }
  if (isCertError(e)) return { line: oneLine(e.message, e.next), exitCode: CERT_EXIT_CODE[e.code] };
  if (isOmniRelayError(e)) {
    const tls = e.code === 'UNAVAILABLE' ? tlsFailureHint(e.message) : undefined;
    // The handshake's reason replaces the library's long OpenSSL text and its generic next step.
    if (tls !== undefined) {
      const where = flatten(e.message).split(' (')[0] ?? '';
      return { line: oneLine(`${where} (${e.code})`, tls), exitCode: exitCodeFor(e.code) };
    }
    const next = Object.hasOwn(NEXT_STEP, e.code) ? NEXT_STEP[e.code] : 'run the command again';
    return { line: oneLine(withCode(e.message, e.code), next), exitCode: exitCodeFor(e.code) };
  }
  const message = e instanceof Error ? e.message : String(e);
  return {
    line: oneLine(`internal error (${message})`, 'report it with the command you ran'),
    exitCode: EXIT.INTERNAL,
  };
}

/**
 * oneLine joins what went wrong and what to do next into `omnirelay: <what>; <next>`, with any
 * line breaks folded into spaces. A message that already ends in its own `; <next step>`
 * clause keeps it instead of `next`.
 */
export function oneLine(what: string, next: string): string {
  const text = flatten(what).replace(/[.\s]+$/, '');
  const line = text.includes('; ') ? text : `${text}; ${flatten(next)}`;
  return `omnirelay: ${line}`;
}

/** withCode puts ` (CODE)` after the first clause of an error's message. */
function withCode(message: string, code: string): string {
  const text = flatten(message).replace(/[.\s]+$/, '');
  const at = text.indexOf('; ');
  return at < 0 ? `${text} (${code})` : `${text.slice(0, at)} (${code})${text.slice(at)}`;
}

function flatten(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function isNamed(e: unknown, name: string): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === name;
}
