import type { CertErrorCode } from '@omnirelay/certs';
import type { ErrorCode } from '@omnirelay/client-sdk';

/**
 * EXIT is every exit code of `omnirelay`. They are the server's CLI column of its error table
 * (packages/server/src/errors/error-table.ts) plus 0 for success; test/exit-codes.test.ts keeps
 * the two in agreement.
 */
export const EXIT = {
  /** OK: the command did what was asked. */
  OK: 0,
  /** INTERNAL: a bug or an unexpected failure (in the CLI or the server). */
  INTERNAL: 1,
  /** USAGE: bad usage or input (unknown command or option, a malformed value, a refused argument). */
  USAGE: 2,
  /** UNAVAILABLE: no node answered, no quorum, or no leader. */
  UNAVAILABLE: 3,
  /** NOT_FOUND: what was asked for does not exist (or was compacted away). */
  NOT_FOUND: 4,
  /** REJECTED: the cluster's rules refused it (stale fence, not the holder, a conflict). */
  REJECTED: 5,
  /** OVERLOADED: the cluster is overloaded or did not answer in time. */
  OVERLOADED: 6,
  /** DENIED: access control refused it: no or bad credentials, or a missing permission. */
  DENIED: 7,
} as const;

/** ExitCode is one of EXIT's values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * EXIT_CODE_OF maps every code an SDK error can carry to the exit code. Server codes take the
 * server's table's `cliExitCode`; the SDK's own codes are decided here:
 * - UNAVAILABLE → 3: no node answered within the deadline.
 * - LEASE_LOST → 5: the cluster refused a lease (the CLI holds none; kept for completeness).
 * - CANCELLED → 1: a call was cancelled without the operator asking (the operator's Ctrl-C
 *   ends a one-shot command by the signal and a watch with 0), which says nothing about the
 *   cluster's state, so it must not read as "unreachable" to a script.
 * - CLOSED → 1: the CLI used a closed client, which is a bug.
 * - SLOW_CONSUMER → 6: the server cut off a watch that fell behind and it could not resume.
 */
export const EXIT_CODE_OF: Readonly<Record<ErrorCode, ExitCode>> = {
  INVALID_ARGUMENT: EXIT.USAGE,
  NOT_FOUND: EXIT.NOT_FOUND,
  PAYLOAD_TOO_LARGE: EXIT.USAGE,
  NOT_LEADER: EXIT.UNAVAILABLE,
  BACKPRESSURE: EXIT.OVERLOADED,
  TRANSFER_IN_PROGRESS: EXIT.UNAVAILABLE,
  NO_QUORUM: EXIT.UNAVAILABLE,
  DEADLINE_EXCEEDED: EXIT.OVERLOADED,
  PROPOSAL_DROPPED: EXIT.REJECTED,
  CONFIG_CHANGE_IN_PROGRESS: EXIT.REJECTED,
  INVALID_CONFIG_CHANGE: EXIT.USAGE,
  LEARNER_NOT_CAUGHT_UP: EXIT.REJECTED,
  INVALID_TRANSFER_TARGET: EXIT.USAGE,
  STOPPED: EXIT.UNAVAILABLE,
  INVALID_SCOPE: EXIT.USAGE,
  STALE_FENCE: EXIT.REJECTED,
  NOT_HOLDER: EXIT.REJECTED,
  NOT_WAITING: EXIT.REJECTED,
  HELD_BY_OTHER_SESSION: EXIT.REJECTED,
  TTL_OUT_OF_RANGE: EXIT.USAGE,
  METADATA_TOO_LARGE: EXIT.USAGE,
  BATCH_TOO_LARGE: EXIT.USAGE,
  QUEUE_FULL: EXIT.OVERLOADED,
  SCOPE_LIMIT_REACHED: EXIT.OVERLOADED,
  LIMIT_REACHED: EXIT.OVERLOADED,
  COMPACTED: EXIT.NOT_FOUND,
  UNAUTHENTICATED: EXIT.DENIED,
  PERMISSION_DENIED: EXIT.DENIED,
  CLUSTER_PASSIVE: EXIT.REJECTED,
  CLUSTER_ACTIVE: EXIT.REJECTED,
  EPOCH_REGRESSION: EXIT.REJECTED,
  FENCE_SPACE_EXHAUSTED: EXIT.REJECTED,
  MIRROR_OUT_OF_ORDER: EXIT.REJECTED,
  INTERNAL: EXIT.INTERNAL,
  UNAVAILABLE: EXIT.UNAVAILABLE,
  LEASE_LOST: EXIT.REJECTED,
  CANCELLED: EXIT.INTERNAL,
  CLOSED: EXIT.INTERNAL,
  SLOW_CONSUMER: EXIT.OVERLOADED,
};

/** exitCodeFor returns the exit code of an SDK error code; an unknown code is INTERNAL. */
export function exitCodeFor(code: string): ExitCode {
  return Object.hasOwn(EXIT_CODE_OF, code) ? EXIT_CODE_OF[code as ErrorCode] : EXIT.INTERNAL;
}

/**
 * CERT_EXIT_CODE maps each CertErrorCode of `omnirelay cert issue` to the exit code.
 * ALREADY_EXISTS is a conflict (5), so a provisioning script can tell "already issued" from a
 * bad option (2).
 */
export const CERT_EXIT_CODE: Readonly<Record<CertErrorCode, ExitCode>> = {
  INVALID_ARGUMENT: EXIT.USAGE,
  ALREADY_EXISTS: EXIT.REJECTED,
  NOT_FOUND: EXIT.NOT_FOUND,
  INVALID_CA: EXIT.USAGE,
  INVALID_TOKENS_FILE: EXIT.USAGE,
  IO_FAILED: EXIT.INTERNAL,
};

/** EXIT_CODES_HELP is the exit-code table as `omnirelay --help` and the README show it. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0  ok',
  '  1  internal error',
  '  2  bad usage or input',
  '  3  unreachable, no quorum or no leader',
  '  4  not found (or compacted)',
  "  5  rejected by the cluster's rules (stale fence, not the holder, a conflict)",
  '  6  overloaded or timed out',
  '  7  refused by access control (no or bad credentials, or a missing permission)',
].join('\n');
