import type { LeaseRef } from '@omnirelay/leadership-fsm';
import { leaseRefBytesMax } from '@omnirelay/leadership-fsm';
import type { Logger } from 'pino';
import type { ErrorCode, ServerError } from '../errors/error-table';
import { isServerError } from '../errors/error-table';

/** LeaseBatchCommand names the commands that list many leases in one entry. */
export type LeaseBatchCommand = 'renew' | 'expire';

/**
 * LeaseBatchRefusal is what happened to a lease batch refused for its content: `split` (it was
 * proposed again in two halves) or `isolated` (a single lease that cannot be proposed even alone
 * was left out, so the rest go through).
 */
export type LeaseBatchRefusal = 'split' | 'isolated';

/** LeaseBatchRefusalListener hears each split or isolation (metrics). */
export type LeaseBatchRefusalListener = (command: LeaseBatchCommand, refusal: LeaseBatchRefusal) => void;

/**
 * CONTENT_REFUSAL_CODES are the refusals that are about a batch's content (too large, a bad
 * field): proposing the same leases again fails again, so the batch is split instead. Anything
 * else (NOT_LEADER, NO_QUORUM, BACKPRESSURE, DEADLINE_EXCEEDED, …) is about the cluster's state
 * and may succeed on a retry.
 */
const CONTENT_REFUSAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'PAYLOAD_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'INVALID_ARGUMENT',
  'INVALID_SCOPE',
]);

/** isContentRefusal tells a refusal about a batch's content (see CONTENT_REFUSAL_CODES). */
export function isContentRefusal(e: unknown): e is ServerError {
  return isServerError(e) && CONTENT_REFUSAL_CODES.has(e.code);
}

/**
 * chunkLeases cuts `leases`, in order, into runs of at most `countMax` leases whose
 * leaseRefBytesMax sum to at most `bytesMax`. A lease larger than `bytesMax` by itself is a run of
 * its own (it will be refused alone, not with others).
 */
export function chunkLeases(leases: readonly LeaseRef[], countMax: number, bytesMax: number): LeaseRef[][] {
  const chunks: LeaseRef[][] = [];
  let chunk: LeaseRef[] = [];
  let bytes = 0;
  for (const lease of leases) {
    const size = leaseRefBytesMax(lease);
    if (chunk.length > 0 && (chunk.length >= countMax || bytes + size > bytesMax)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(lease);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** IsolatedLease is a lease that could not be proposed even alone, with the refusal. */
export interface IsolatedLease {
  readonly lease: LeaseRef;
  readonly error: ServerError;
}

/** LeaseBatchAnswers are the answers of every lease that was proposed, and the leases left out. */
export interface LeaseBatchAnswers<T> {
  readonly answers: T[];
  readonly isolated: IsolatedLease[];
}

/** LeaseBatchReport is where splits and isolations are told: a log line and a metric. */
export interface LeaseBatchReport {
  readonly logger: Logger;
  readonly onRefused: LeaseBatchRefusalListener;
}

/**
 * proposeSplitting proposes `leases` as one `command` batch with `propose`. When the batch is
 * refused for its content (isContentRefusal), it proposes each half again, down to single
 * leases; a single lease still refused is isolated (left out and reported) and the others go
 * through. One bad lease thus costs about 2·log2(n) refused proposals once, instead of failing
 * everyone's batch or, retried as it was, forever. Any other failure is thrown as it is.
 */
export async function proposeSplitting<T>(
  command: LeaseBatchCommand,
  leases: readonly LeaseRef[],
  propose: (leases: readonly LeaseRef[]) => Promise<readonly T[]>,
  report: LeaseBatchReport,
): Promise<LeaseBatchAnswers<T>> {
  const answers: T[] = [];
  const isolated: IsolatedLease[] = [];
  const proposeOrSplit = async (part: readonly LeaseRef[]): Promise<void> => {
    try {
      answers.push(...(await propose(part)));
    } catch (e) {
      if (!isContentRefusal(e)) throw e;
      if (part.length === 1) {
        const lease = part[0]!;
        report.logger.error(
          { command, scope: lease.scope, fence: lease.fenceToken.toString(), code: e.code, err: e.message },
          `a lease cannot be proposed even alone; it is left out of the ${command} batch and the other leases go on`,
        );
        report.onRefused(command, 'isolated');
        isolated.push({ lease, error: e });
        return;
      }
      report.logger.warn(
        { command, leases: part.length, code: e.code, err: e.message },
        `a ${command} batch was refused for its content; proposing it again in two halves`,
      );
      report.onRefused(command, 'split');
      const half = Math.ceil(part.length / 2);
      await proposeOrSplit(part.slice(0, half));
      await proposeOrSplit(part.slice(half));
    }
  };
  await proposeOrSplit(leases);
  return { answers, isolated };
}
