import { ChaosError } from './errors';
import { readInteger } from './history';
import type { ClientRecord, OperationFunction } from './history';

/**
 * OperationStatus is how an operation ended: `ok` (it took effect, with this answer), `fail`
 * (it certainly did not take effect) or `info` (unknown: a timeout, a lost connection, or no
 * completion before the history ended — it may or may not have taken effect).
 */
export type OperationStatus = 'ok' | 'fail' | 'info';

/** OperationInput is what an operation asked for; which fields are set depends on `f`. */
export interface OperationInput {
  /** candidate is the candidate id of acquire and campaign. */
  readonly candidate?: string;
  /** session is the client's session id of acquire and campaign ('' or absent: none). */
  readonly session?: string;
  /** fence is the fence token renew, resign, validate and write carry. */
  readonly fence?: bigint;
  /** serializable marks a validate answered from a local replica (not linearizable). */
  readonly serializable?: boolean;
}

/** OperationOutput is the answer of an `ok` operation; which fields are set depends on `f`. */
export interface OperationOutput {
  /** granted: acquire got (or already held) the scope; campaign is always granted. */
  readonly granted?: boolean;
  /** fence is the granted lease's fence (acquire, campaign). */
  readonly fence?: bigint;
  /** valid is validate's answer. */
  readonly valid?: boolean;
  /** code is the error code of a `fail` or `info`, when the client knew one. */
  readonly code?: string;
}

/**
 * Operation is one client call from invocation to completion. `completeNs` is null when the
 * history ended before an answer (then `status` is `info`).
 */
export interface Operation {
  readonly process: string;
  readonly f: OperationFunction;
  readonly scope: string;
  readonly input: OperationInput;
  readonly status: OperationStatus;
  readonly output: OperationOutput;
  readonly invokeNs: bigint;
  readonly completeNs: bigint | null;
  /** source is the `file:line` of the invocation. */
  readonly source: string;
}

function optionalString(value: unknown, name: string, source: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new ChaosError('INVALID_HISTORY', `"value.${name}" must be a string`, source);
  return value;
}

function optionalBoolean(value: unknown, name: string, source: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    throw new ChaosError('INVALID_HISTORY', `"value.${name}" must be true or false`, source);
  }
  return value;
}

function readInput(record: ClientRecord): OperationInput {
  const v = record.value;
  if (record.f === 'acquire' || record.f === 'campaign') {
    const candidate = optionalString(v['candidate'], 'candidate', record.source);
    if (candidate === undefined || candidate === '') {
      throw new ChaosError('INVALID_HISTORY', `${record.f} needs "value.candidate"`, record.source);
    }
    const session = optionalString(v['session'], 'session', record.source);
    return session === undefined ? { candidate } : { candidate, session };
  }
  const fence = readInteger(v['fence'], 'value.fence', record.source);
  const serializable = optionalBoolean(v['serializable'], 'serializable', record.source);
  return serializable === undefined ? { fence } : { fence, serializable };
}

function readOutput(record: ClientRecord): OperationOutput {
  const v = record.value;
  const code = optionalString(v['code'], 'code', record.source);
  if (record.type !== 'ok') return code === undefined ? {} : { code };
  if (record.f === 'acquire' || record.f === 'campaign') {
    const granted = record.f === 'campaign' ? true : optionalBoolean(v['granted'], 'granted', record.source);
    if (granted === undefined) {
      throw new ChaosError('INVALID_HISTORY', 'an ok acquire needs "value.granted"', record.source);
    }
    return granted ? { granted, fence: readInteger(v['fence'], 'value.fence', record.source) } : { granted };
  }
  if (record.f === 'validate') {
    const valid = optionalBoolean(v['valid'], 'valid', record.source);
    if (valid === undefined)
      throw new ChaosError('INVALID_HISTORY', 'an ok validate needs "value.valid"', record.source);
    return { valid };
  }
  return {};
}

/**
 * pairOperations turns client records into operations. Each process runs one operation at a
 * time: an `invoke` is followed by its `ok`, `fail` or `info` (same f and scope, not earlier)
 * before that process invokes again; an invocation left open when the records end is `info`.
 * Records of different processes may interleave in any order; the result is sorted by
 * invocation time. Anything else is a harness bug and throws INVALID_HISTORY.
 */
export function pairOperations(records: readonly ClientRecord[]): Operation[] {
  const open = new Map<string, { record: ClientRecord; input: OperationInput }>();
  const operations: Operation[] = [];
  for (const record of records) {
    const pending = open.get(record.process);
    if (record.type === 'invoke') {
      if (pending !== undefined) {
        throw new ChaosError(
          'INVALID_HISTORY',
          `process ${record.process} invokes ${record.f} while its ${pending.record.f} from ${pending.record.source} is still open`,
          record.source,
        );
      }
      open.set(record.process, { record, input: readInput(record) });
      continue;
    }
    if (pending === undefined) {
      throw new ChaosError(
        'INVALID_HISTORY',
        `process ${record.process} completes ${record.f} with ${record.type} but invoked nothing`,
        record.source,
      );
    }
    const invoke = pending.record;
    if (invoke.f !== record.f || invoke.scope !== record.scope || record.timeNs < invoke.timeNs) {
      throw new ChaosError(
        'INVALID_HISTORY',
        `${record.type} ${record.f} ${record.scope} does not complete ${invoke.f} ${invoke.scope} invoked at ${invoke.source} (same f, same scope, not earlier)`,
        record.source,
      );
    }
    open.delete(record.process);
    operations.push({
      process: record.process,
      f: record.f,
      scope: record.scope,
      input: pending.input,
      status: record.type,
      output: readOutput(record),
      invokeNs: invoke.timeNs,
      completeNs: record.timeNs,
      source: invoke.source,
    });
  }
  for (const { record, input } of open.values()) {
    operations.push({
      process: record.process,
      f: record.f,
      scope: record.scope,
      input,
      status: 'info',
      output: {},
      invokeNs: record.timeNs,
      completeNs: null,
      source: record.source,
    });
  }
  return operations.sort((a, b) => compareBigint(a.invokeNs, b.invokeNs));
}

/** describeOperation renders an operation for a message: `w1 acquire(w1) → granted fence 12 [1.000..1.500 ms]`. */
export function describeOperation(op: Operation): string {
  const args =
    op.input.candidate !== undefined
      ? op.input.candidate
      : op.input.fence !== undefined
        ? `fence ${op.input.fence}`
        : '';
  let answer: string;
  if (op.status === 'fail') answer = `failed${op.output.code === undefined ? '' : ` ${op.output.code}`}`;
  else if (op.status === 'info') answer = 'unknown outcome';
  else if (op.output.granted === true) answer = `granted fence ${op.output.fence ?? '?'}`;
  else if (op.output.granted === false) answer = 'not granted (held)';
  else if (op.output.valid !== undefined) answer = op.output.valid ? 'valid' : 'not valid';
  else answer = 'ok';
  const end = op.completeNs === null ? '…' : formatMs(op.completeNs);
  return `${op.process} ${op.f}(${args}) → ${answer} [${formatMs(op.invokeNs)}..${end} ms, ${op.source}]`;
}

/** formatMs renders nanoseconds as milliseconds with three decimals. */
export function formatMs(ns: bigint): string {
  const micros = ns / 1000n;
  return `${micros / 1000n}.${(micros % 1000n).toString().padStart(3, '0')}`;
}

/** compareBigint orders two bigints, for sort. */
export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
