import { ChaosError } from './errors';

/**
 * The record formats of a chaos run (chaos/README.md, "History format"). Every file is JSON
 * lines: one object per line, blank lines skipped. Fence tokens and revisions are decimal
 * strings (numbers are accepted while they are safe integers); times are monotonic nanoseconds
 * (`process.hrtime.bigint()`), a decimal string or a safe integer, comparable across the
 * processes of one host.
 */

/** OperationType is the kind of a client record: a call, or how it ended. */
export type OperationType = 'invoke' | 'ok' | 'fail' | 'info';

/**
 * OperationFunction is what a client did: lease calls on the cluster (acquire, campaign,
 * renew, resign, validate) or a fenced write to the store (write).
 */
export type OperationFunction = 'acquire' | 'campaign' | 'renew' | 'resign' | 'validate' | 'write';

/** ClientRecord is one line of a client history: an invocation or its completion. */
export interface ClientRecord {
  readonly process: string;
  readonly type: OperationType;
  readonly f: OperationFunction;
  readonly scope: string;
  /** value holds the call's arguments (invoke) or its answer (ok, fail, info). */
  readonly value: Readonly<Record<string, unknown>>;
  readonly timeNs: bigint;
  /** source is `file:line`, for error messages and counterexamples. */
  readonly source: string;
}

/** StoreOutcome is what the fenced store did with a write. */
export type StoreOutcome = 'accepted' | 'rejected';

/** StoreRecord is one line of the fenced store's log: a write it accepted or rejected on its fence. */
export interface StoreRecord {
  readonly scope: string;
  readonly fence: bigint;
  /** writer is the candidate id the write came from. */
  readonly writer: string;
  readonly outcome: StoreOutcome;
  readonly timeNs: bigint;
  readonly source: string;
}

/** HolderRef names a lease in an audit event: its candidate and its fence. */
export interface HolderRef {
  readonly candidateId: string;
  readonly fenceToken: bigint;
}

/**
 * AuditEvent is one committed holder change as Watch or the SSE stream delivers it (the wire
 * form; extra fields are ignored): revision, scope, reason, the new holder and the previous one.
 */
export interface AuditEvent {
  readonly revision: bigint;
  readonly scope: string;
  readonly reason: string;
  readonly holder: HolderRef | null;
  readonly previousHolder: HolderRef | null;
  readonly source: string;
}

/** TimelineKind says whether a timeline record starts a fault, ends it, or restarts the cluster. */
export type TimelineKind = 'fault' | 'heal' | 'restart';

/**
 * TimelineRecord is one line of the harness's fault timeline: `fault` names the fault
 * (`kill-leader`, `partition-leader`, `kill-holder`, ...), `target` the node or worker it hit
 * and `scopes` the scopes it concerns (a killed holder's), if any.
 */
export interface TimelineRecord {
  readonly timeNs: bigint;
  readonly kind: TimelineKind;
  readonly fault: string;
  readonly target: string | undefined;
  readonly scopes: readonly string[];
  readonly source: string;
}

const OPERATION_TYPES: readonly OperationType[] = ['invoke', 'ok', 'fail', 'info'];
const OPERATION_FUNCTIONS: readonly OperationFunction[] = [
  'acquire',
  'campaign',
  'renew',
  'resign',
  'validate',
  'write',
];
const TIMELINE_KINDS: readonly TimelineKind[] = ['fault', 'heal', 'restart'];

/** JsonLine is one parsed object of a JSON-lines file and where it came from. */
export interface JsonLine {
  readonly object: Readonly<Record<string, unknown>>;
  readonly source: string;
}

/**
 * parseJsonLines parses `text` (the content of `file`) into one object per non-blank line, or
 * throws INVALID_HISTORY naming the line that is not a JSON object.
 */
export function parseJsonLines(text: string, file: string): JsonLine[] {
  const lines: JsonLine[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const source = `${file}:${index + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new ChaosError('INVALID_HISTORY', 'not valid JSON', source);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ChaosError('INVALID_HISTORY', 'a record is a JSON object', source);
    }
    lines.push({ object: parsed as Record<string, unknown>, source });
  });
  return lines;
}

/** readString returns field `name` of `line`, a non-empty string, or throws INVALID_HISTORY. */
export function readString(line: JsonLine, name: string): string {
  const value = line.object[name];
  if (typeof value !== 'string' || value === '') {
    throw new ChaosError('INVALID_HISTORY', `"${name}" must be a non-empty string`, line.source);
  }
  return value;
}

/**
 * readInteger reads a non-negative integer field given as a decimal string or a safe integer
 * (fences, revisions, times), or throws INVALID_HISTORY.
 */
export function readInteger(value: unknown, name: string, source: string): bigint {
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new ChaosError(
    'INVALID_HISTORY',
    `"${name}" must be a non-negative integer (a decimal string), got ${JSON.stringify(value) ?? 'nothing'}`,
    source,
  );
}

function readEnum<T extends string>(line: JsonLine, name: string, allowed: readonly T[]): T {
  const value = line.object[name];
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ChaosError(
      'INVALID_HISTORY',
      `"${name}" must be one of ${allowed.join(', ')}, got ${JSON.stringify(value) ?? 'nothing'}`,
      line.source,
    );
  }
  return value as T;
}

/** parseClientHistory reads a client history file into records, in file order. */
export function parseClientHistory(text: string, file: string): ClientRecord[] {
  return parseJsonLines(text, file).map((line) => {
    const value = line.object['value'] ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ChaosError('INVALID_HISTORY', '"value" must be a JSON object', line.source);
    }
    return {
      process: readString(line, 'process'),
      type: readEnum(line, 'type', OPERATION_TYPES),
      f: readEnum(line, 'f', OPERATION_FUNCTIONS),
      scope: readString(line, 'scope'),
      value: value as Record<string, unknown>,
      timeNs: readInteger(line.object['time'], 'time', line.source),
      source: line.source,
    };
  });
}

/** parseStoreLog reads a fenced store's log into records, in file (append) order. */
export function parseStoreLog(text: string, file: string): StoreRecord[] {
  return parseJsonLines(text, file).map((line) => ({
    scope: readString(line, 'scope'),
    fence: readInteger(line.object['fence'], 'fence', line.source),
    writer: readString(line, 'writer'),
    outcome: readEnum(line, 'outcome', ['accepted', 'rejected'] as const),
    timeNs: readInteger(line.object['time'], 'time', line.source),
    source: line.source,
  }));
}

/**
 * readHolder reads a holder of an audit event: Watch (gRPC) names the candidate `candidateId`,
 * the SSE stream `leaderId` (the DISC-002 lease token name); either is accepted.
 */
function readHolder(value: unknown, name: string, source: string): HolderRef | null {
  if (value === null || value === undefined) return null;
  const ref = value as { candidateId?: unknown; leaderId?: unknown; fenceToken?: unknown };
  const id = typeof value === 'object' ? (ref.leaderId ?? ref.candidateId) : undefined;
  if (typeof id !== 'string' || id === '') {
    throw new ChaosError(
      'INVALID_HISTORY',
      `"${name}" must be null or {leaderId or candidateId, fenceToken}`,
      source,
    );
  }
  return {
    candidateId: id,
    fenceToken: readInteger(ref.fenceToken, `${name}.fenceToken`, source),
  };
}

/** parseAuditEvents reads an audit (watch) file into events, in file order. */
export function parseAuditEvents(text: string, file: string): AuditEvent[] {
  return parseJsonLines(text, file).map((line) => ({
    revision: readInteger(line.object['revision'], 'revision', line.source),
    scope: readString(line, 'scope'),
    reason: readString(line, 'reason'),
    holder: readHolder(line.object['holder'], 'holder', line.source),
    previousHolder: readHolder(line.object['previousHolder'], 'previousHolder', line.source),
    source: line.source,
  }));
}

/** parseTimeline reads the harness's fault timeline, in file order. */
export function parseTimeline(text: string, file: string): TimelineRecord[] {
  return parseJsonLines(text, file).map((line) => {
    const target = line.object['target'];
    const scopes = line.object['scopes'] ?? [];
    if (target !== undefined && (typeof target !== 'string' || target === '')) {
      throw new ChaosError('INVALID_HISTORY', '"target" must be a non-empty string', line.source);
    }
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && s !== '')) {
      throw new ChaosError('INVALID_HISTORY', '"scopes" must be a list of scope names', line.source);
    }
    return {
      timeNs: readInteger(line.object['time'], 'time', line.source),
      kind: readEnum(line, 'kind', TIMELINE_KINDS),
      fault: readString(line, 'fault'),
      target,
      scopes: scopes as string[],
      source: line.source,
    };
  });
}
