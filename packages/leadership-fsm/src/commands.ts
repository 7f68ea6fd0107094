import type { FailoverStepCommand, MirrorCommand, SetClusterCommand } from './cluster-commands';
import {
  FAILOVER_STEP_FIELDS,
  MIRROR_FIELDS,
  SET_CLUSTER_FIELDS,
  parseFailoverStep,
  parseMirror,
  parseSetCluster,
} from './cluster-commands';
import { LeadershipError } from './errors';
import type { Fields } from './fields';
import { asRecord, integerField, malformed, onlyFields, rangeField, stringField } from './fields';
import {
  EXPIRE_BATCH_MAX,
  GRACE_MS_MAX,
  LEASE_TTL_MS_MAX,
  LEASE_TTL_MS_MIN,
  PRIORITY_MAX,
  PRIORITY_MIN,
  RENEW_BATCH_MAX,
  STAMP_MS_MAX,
} from './limits';
import { validateScopeName } from './scope-name';
import {
  unshared,
  validateCandidateId,
  validateCorrelationId,
  validateMetadata,
  validateSessionId,
} from './text';

/** FENCE_TOKEN_MAX is the largest fence token: the largest uint64. */
export const FENCE_TOKEN_MAX = (1n << 64n) - 1n;

/**
 * LeaseRef names one lease: a scope and the fence token its holder was granted. Because a
 * fence is never reused in a scope, the pair is the lease's id.
 */
export interface LeaseRef {
  readonly scope: string;
  readonly fenceToken: bigint;
}

/**
 * AcquireCommand asks for `scope` now: granted only if vacant, else the answer names the holder.
 * `sessionId` is the client session asking (absent: none); the same candidate in the same
 * session gets its lease back, in any other session it is HELD_BY_OTHER_SESSION.
 */
export interface AcquireCommand {
  readonly type: 'acquire';
  readonly correlationId: string;
  readonly scope: string;
  readonly candidateId: string;
  readonly sessionId?: string;
  readonly metadata: string;
  readonly leaseTtlMs: number;
}

/**
 * CampaignCommand joins `scope`'s queue at `priority`, or is granted at once if the scope is
 * vacant. A candidate already waiting or holding in the same session (`sessionId`, absent: none)
 * gets its current position or lease back; in another session it is HELD_BY_OTHER_SESSION.
 */
export interface CampaignCommand {
  readonly type: 'campaign';
  readonly correlationId: string;
  readonly scope: string;
  readonly candidateId: string;
  readonly sessionId?: string;
  readonly metadata: string;
  readonly leaseTtlMs: number;
  readonly priority: number;
}

/**
 * WithdrawCommand takes `candidateId` out of `scope`'s queue; with `sessionId`, only if it
 * campaigned in that session (so one session cannot withdraw another's campaign).
 */
export interface WithdrawCommand {
  readonly type: 'withdraw';
  readonly correlationId: string;
  readonly scope: string;
  readonly candidateId: string;
  readonly sessionId?: string;
}

/** ResignCommand ends the holder's lease, proven by its fence; the queue's best waiter is promoted. */
export interface ResignCommand {
  readonly type: 'resign';
  readonly correlationId: string;
  readonly scope: string;
  readonly fenceToken: bigint;
}

/**
 * RenewCommand renews many leases at the entry's stamp: each lease whose fence is current gets
 * `lastRenewalStampMs = stamp` and `deadlineMs = stamp + leaseTtlMs`; others are reported stale.
 */
export interface RenewCommand {
  readonly type: 'renew';
  readonly correlationId: string;
  readonly leases: readonly LeaseRef[];
}

/**
 * ExpireCommand, proposed by the Raft leader when its timer says leases ran out, ends each
 * listed lease whose fence still matches and whose deadline is at or before the entry's stamp.
 */
export interface ExpireCommand {
  readonly type: 'expire';
  readonly correlationId: string;
  readonly leases: readonly LeaseRef[];
}

/**
 * Successor names who takes a scope on an operator step-down: either a candidate waiting in the
 * scope's queue (`kind: 'waiting'`, promoted with the TTL and metadata it campaigned with,
 * whatever its priority), or any candidate given explicitly with its lease terms (`kind: 'explicit'`;
 * if that candidate was also waiting, it leaves the queue).
 */
export type Successor =
  | { readonly kind: 'waiting'; readonly candidateId: string }
  | {
      readonly kind: 'explicit';
      readonly candidateId: string;
      readonly metadata: string;
      readonly leaseTtlMs: number;
    };

/**
 * StepDownCommand is an operator's removal of `scope`'s holder. When `fenceToken` is given it
 * must be the holder's (so an operator acting on an old view cannot remove a newer holder).
 * With a successor, the successor takes the scope (reason `preempted`); without one, the
 * queue's best waiter does, or the scope falls vacant (reason `steppedDown`).
 */
export interface StepDownCommand {
  readonly type: 'stepDown';
  readonly correlationId: string;
  readonly scope: string;
  readonly fenceToken?: bigint;
  readonly successor?: Successor;
}

/**
 * GraceCommand is what a new Raft leader proposes when it takes office: every live lease gets
 * `deadlineMs = max(deadlineMs, min(tookOfficeStampMs + graceMs, lastRenewalStampMs + leaseTtlMs
 * + capMs))`, so no lease expires early because renewals could not get through while there was
 * no leader, none gets a full TTL, and with capMs a lease whose holder stopped renewing is freed
 * within TTL + capMs of its last renewal however often leadership changes (etcd issue 9888).
 */
export interface GraceCommand {
  readonly type: 'grace';
  readonly correlationId: string;
  readonly tookOfficeStampMs: number;
  readonly graceMs: number;
  /** capMs bounds the extension past a lease's own deadline (absent: no bound, as before it existed). */
  readonly capMs?: number;
}

/** Command is every command the leadership state machine applies. */
export type Command =
  | AcquireCommand
  | CampaignCommand
  | WithdrawCommand
  | ResignCommand
  | RenewCommand
  | ExpireCommand
  | StepDownCommand
  | GraceCommand
  | SetClusterCommand
  | MirrorCommand
  | FailoverStepCommand;

/** CommandType is the `type` tag of a Command. */
export type CommandType = Command['type'];

/** COMMAND_TYPES lists every CommandType, in a fixed order. */
export const COMMAND_TYPES: readonly CommandType[] = [
  'acquire',
  'campaign',
  'withdraw',
  'resign',
  'renew',
  'expire',
  'stepDown',
  'grace',
  'setCluster',
  'mirror',
  'failoverStep',
];

const allowedFields: Readonly<Record<CommandType, readonly string[]>> = {
  acquire: ['type', 'correlationId', 'scope', 'candidateId', 'sessionId', 'metadata', 'leaseTtlMs'],
  campaign: [
    'type',
    'correlationId',
    'scope',
    'candidateId',
    'sessionId',
    'metadata',
    'leaseTtlMs',
    'priority',
  ],
  withdraw: ['type', 'correlationId', 'scope', 'candidateId', 'sessionId'],
  resign: ['type', 'correlationId', 'scope', 'fenceToken'],
  renew: ['type', 'correlationId', 'leases'],
  expire: ['type', 'correlationId', 'leases'],
  stepDown: ['type', 'correlationId', 'scope', 'fenceToken', 'successor'],
  grace: ['type', 'correlationId', 'tookOfficeStampMs', 'graceMs', 'capMs'],
  setCluster: SET_CLUSTER_FIELDS,
  mirror: MIRROR_FIELDS,
  failoverStep: FAILOVER_STEP_FIELDS,
};

function leaseTtlField(record: Fields, field = 'leaseTtlMs'): number {
  const value = integerField(record, field);
  if (value < LEASE_TTL_MS_MIN || value > LEASE_TTL_MS_MAX) {
    throw new LeadershipError(
      'TTL_OUT_OF_RANGE',
      `${field} is ${value}; allowed: ${LEASE_TTL_MS_MIN}..${LEASE_TTL_MS_MAX} ms`,
      { field, limit: value < LEASE_TTL_MS_MIN ? LEASE_TTL_MS_MIN : LEASE_TTL_MS_MAX },
    );
  }
  return value;
}

/** fenceTokenProblem returns why `value` is not a fence token (a bigint in 1..2^64-1), or null. */
export function fenceTokenProblem(value: unknown): string | null {
  if (typeof value !== 'bigint') {
    return 'a fence token must be a bigint';
  }
  if (value < 1n || value > FENCE_TOKEN_MAX) {
    return `fence token ${value} is outside 1..2^64-1`;
  }
  return null;
}

function fenceField(record: Fields, field: string): bigint {
  const value = record[field];
  const problem = fenceTokenProblem(value);
  if (problem !== null) {
    throw new LeadershipError(
      typeof value === 'bigint' ? 'INVALID_ARGUMENT' : 'MALFORMED_COMMAND',
      `${field}: ${problem}`,
      {
        field,
      },
    );
  }
  return value as bigint;
}

// The fields a scope or holder keeps are `unshared`: they outlive the decoded entry.
function scopeField(record: Fields): string {
  const scope = stringField(record, 'scope');
  validateScopeName(scope);
  return unshared(scope);
}

function candidateField(record: Fields, field = 'candidateId'): string {
  const candidateId = stringField(record, field);
  validateCandidateId(candidateId, field);
  return unshared(candidateId);
}

/**
 * sessionField reads the optional client session id as a spread: absent stays absent, so a
 * command without one encodes to the same bytes as before the field existed.
 */
function sessionField(record: Fields): { sessionId?: string } {
  if (record.sessionId === undefined) {
    return {};
  }
  const sessionId = stringField(record, 'sessionId');
  validateSessionId(sessionId);
  return { sessionId: unshared(sessionId) };
}

function metadataField(record: Fields): string {
  const metadata = stringField(record, 'metadata');
  validateMetadata(metadata);
  return unshared(metadata);
}

function leaseRefs(record: Fields, max: number): LeaseRef[] {
  const value = record.leases;
  if (!Array.isArray(value)) {
    throw malformed('leases must be an array of {scope, fenceToken}', 'leases');
  }
  if (value.length === 0 || value.length > max) {
    throw new LeadershipError('BATCH_TOO_LARGE', `leases has ${value.length} entries; allowed: 1..${max}`, {
      field: 'leases',
      limit: max,
    });
  }
  // Scope names and fence values are checked per lease at apply, so that one bad lease in a
  // folded batch is reported on its own and does not fail everyone else's renewal.
  return value.map((item: unknown, i: number): LeaseRef => (isLeaseRef(item) ? item : leaseRefOf(item, i)));
}

/**
 * isLeaseRef says whether `item` is a plain object with exactly the fields `scope` (a string) and
 * `fenceToken` (a bigint): a lease as msgpack decodes it, taken as it is. A renew entry lists
 * thousands of leases and every replica decodes each; a copy and a key array per lease were
 * garbage made in one burst per entry.
 */
function isLeaseRef(item: unknown): item is LeaseRef {
  if (typeof item !== 'object' || item === null || Object.getPrototypeOf(item) !== Object.prototype)
    return false;
  let fields = 0;
  for (const key in item) {
    if (key !== 'scope' && key !== 'fenceToken') return false;
    fields++;
  }
  const ref = item as Fields;
  return fields === 2 && typeof ref.scope === 'string' && typeof ref.fenceToken === 'bigint';
}

/** leaseRefOf checks a listed lease that is not a plain LeaseRef, and throws MALFORMED_COMMAND saying why, or copies it. */
function leaseRefOf(item: unknown, i: number): LeaseRef {
  const ref = asRecord(item, `leases[${i}]`);
  onlyFields(ref, ['scope', 'fenceToken'], `leases[${i}]`);
  const scope = ref.scope;
  const fenceToken = ref.fenceToken;
  if (typeof scope !== 'string' || typeof fenceToken !== 'bigint') {
    throw malformed(`leases[${i}] must be {scope: string, fenceToken: bigint}`, 'leases');
  }
  return { scope, fenceToken };
}

function parseSuccessor(value: unknown): Successor {
  const record = asRecord(value, 'successor');
  const kind = record.kind;
  if (kind === 'waiting') {
    onlyFields(record, ['kind', 'candidateId'], 'successor');
    return { kind, candidateId: candidateField(record) };
  }
  if (kind === 'explicit') {
    onlyFields(record, ['kind', 'candidateId', 'metadata', 'leaseTtlMs'], 'successor');
    return {
      kind,
      candidateId: candidateField(record),
      metadata: metadataField(record),
      leaseTtlMs: leaseTtlField(record),
    };
  }
  throw malformed('successor.kind must be "waiting" or "explicit"', 'successor');
}

/**
 * parseCommand checks that `value` (a decoded msgpack value, or a command built in code) is a
 * Command of the documented shape and within every bound, and returns a fresh copy with its
 * fields in canonical order. It throws LeadershipError (MALFORMED_COMMAND, UNKNOWN_COMMAND,
 * INVALID_SCOPE, INVALID_ARGUMENT, TTL_OUT_OF_RANGE, METADATA_TOO_LARGE, BATCH_TOO_LARGE).
 */
export function parseCommand(value: unknown): Command {
  const record = asRecord(value, 'a command');
  const type = record.type;
  if (typeof type !== 'string') {
    throw malformed('a command needs a string field "type"', 'type');
  }
  if (!(COMMAND_TYPES as readonly string[]).includes(type)) {
    throw new LeadershipError(
      'UNKNOWN_COMMAND',
      `unknown command type ${JSON.stringify(type.slice(0, 64))}; known: ${COMMAND_TYPES.join(', ')}`,
      { field: 'type' },
    );
  }
  const commandType = type as CommandType;
  onlyFields(record, allowedFields[commandType], commandType);
  const correlationId = stringField(record, 'correlationId');
  validateCorrelationId(correlationId);
  switch (commandType) {
    case 'acquire':
      return {
        type: commandType,
        correlationId,
        scope: scopeField(record),
        candidateId: candidateField(record),
        ...sessionField(record),
        metadata: metadataField(record),
        leaseTtlMs: leaseTtlField(record),
      };
    case 'campaign':
      return {
        type: commandType,
        correlationId,
        scope: scopeField(record),
        candidateId: candidateField(record),
        ...sessionField(record),
        metadata: metadataField(record),
        leaseTtlMs: leaseTtlField(record),
        priority: rangeField(record, 'priority', PRIORITY_MIN, PRIORITY_MAX),
      };
    case 'withdraw':
      return {
        type: commandType,
        correlationId,
        scope: scopeField(record),
        candidateId: candidateField(record),
        ...sessionField(record),
      };
    case 'resign':
      return {
        type: commandType,
        correlationId,
        scope: scopeField(record),
        fenceToken: fenceField(record, 'fenceToken'),
      };
    case 'renew':
      return { type: commandType, correlationId, leases: leaseRefs(record, RENEW_BATCH_MAX) };
    case 'expire':
      return { type: commandType, correlationId, leases: leaseRefs(record, EXPIRE_BATCH_MAX) };
    case 'stepDown': {
      const scope = scopeField(record);
      const hasFence = record.fenceToken !== undefined;
      const hasSuccessor = record.successor !== undefined;
      return {
        type: commandType,
        correlationId,
        scope,
        ...(hasFence ? { fenceToken: fenceField(record, 'fenceToken') } : {}),
        ...(hasSuccessor ? { successor: parseSuccessor(record.successor) } : {}),
      };
    }
    case 'grace':
      return {
        type: commandType,
        correlationId,
        tookOfficeStampMs: rangeField(record, 'tookOfficeStampMs', 0, STAMP_MS_MAX),
        graceMs: rangeField(record, 'graceMs', 0, GRACE_MS_MAX),
        ...(record.capMs === undefined ? {} : { capMs: rangeField(record, 'capMs', 0, GRACE_MS_MAX) }),
      };
    case 'setCluster':
      return parseSetCluster(record, correlationId);
    case 'mirror':
      return parseMirror(record, correlationId);
    case 'failoverStep':
      return parseFailoverStep(record, correlationId);
  }
}
