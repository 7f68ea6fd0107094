import type { FailoverStep } from './cluster-history';
import { FAILOVER_STEPS } from './cluster-history';
import type { ClusterDescriptor, ClusterState, MirroredHolder } from './cluster-topology';
import { CLUSTER_STATES } from './cluster-topology';
import { LeadershipError } from './errors';
import type { HolderChangeReason } from './events';
import { FAILOVER_EPOCH_MAX, FENCE_INDEX_MAX } from './fence';
import type { Fields } from './fields';
import { asRecord, integerField, malformed, onlyFields, rangeField, stringField, textField } from './fields';
import {
  CLUSTER_ENDPOINTS_MAX,
  CLUSTER_ID_BYTES_MAX,
  CLUSTER_REASON_BYTES_MAX,
  ENDPOINT_BYTES_MAX,
  FAILOVER_DETAIL_BYTES_MAX,
  LEASE_TTL_MS_MAX,
  MIRROR_CHANGES_MAX,
  PRIORITY_MAX,
  PRIORITY_MIN,
  REGION_BYTES_MAX,
  STAMP_MS_MAX,
} from './limits';
import { validateScopeName } from './scope-name';
import { utf8ByteLength, validateCandidateId, validateMetadata } from './text';

/** HOLDER_CHANGE_REASONS lists every HolderChangeReason a mirror change may carry, in a fixed order. */
const HOLDER_CHANGE_REASONS: readonly HolderChangeReason[] = [
  'granted',
  'resigned',
  'expired',
  'steppedDown',
  'preempted',
];

/** CLUSTER_ID_RULES is the human-readable rule a cluster id (and a region) must follow. */
export const CLUSTER_ID_RULES = `a cluster id is 1..${CLUSTER_ID_BYTES_MAX} characters: a first character from [A-Za-z0-9], then [A-Za-z0-9._-]`;

const clusterIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const endpointPattern = /^[\x21-\x7e]+$/;

/**
 * SetClusterCommand sets one cluster descriptor: this cluster's own (`local: true`) or a peer's.
 * The principal of the entry becomes `changedBy`. Apply refuses a lower epoch than the one the
 * cluster has (EPOCH_REGRESSION), a promotion of this cluster to `active` that does not raise its
 * epoch above every epoch it knows of, and a local descriptor whose id differs from the first.
 */
export interface SetClusterCommand extends Pick<
  ClusterDescriptor,
  'clusterId' | 'region' | 'priority' | 'state' | 'failoverEpoch' | 'endpoints' | 'reason'
> {
  readonly type: 'setCluster';
  readonly correlationId: string;
  readonly local: boolean;
}

/**
 * MirrorChange is one scope's holder (null: vacant) as of source revision `revision`, and why the
 * source's holder changed (its event's reason; absent in a reset's listing and in entries written
 * before it existed).
 */
export interface MirrorChange {
  readonly scope: string;
  readonly revision: number;
  readonly holder: MirroredHolder | null;
  readonly reason?: HolderChangeReason;
}

/**
 * MirrorCommand, proposed by a passive cluster's replicator, applies the active cluster's
 * holder changes up to source revision `toRevision` to the read-only mirror. `sourceStampMs` is
 * the source's stamp of the newest change (lag is measured from it). With `reset`, the mirror is
 * emptied first (a resynchronisation from a listing, or a new source).
 */
export interface MirrorCommand {
  readonly type: 'mirror';
  readonly correlationId: string;
  readonly sourceClusterId: string;
  readonly toRevision: number;
  readonly sourceStampMs: number;
  readonly reset?: boolean;
  readonly changes: readonly MirrorChange[];
}

/**
 * FailoverStepCommand records one step of a failover workflow in this cluster's failover history
 * (see FailoverRecord): its correlation id ties the steps of one workflow together.
 */
export interface FailoverStepCommand {
  readonly type: 'failoverStep';
  readonly correlationId: string;
  readonly step: FailoverStep;
  readonly detail: string;
  readonly reason: string;
}

/** FAILOVER_STEP_FIELDS are the fields a FailoverStepCommand may have. */
export const FAILOVER_STEP_FIELDS: readonly string[] = ['type', 'correlationId', 'step', 'detail', 'reason'];

/** SET_CLUSTER_FIELDS are the fields a SetClusterCommand may have. */
export const SET_CLUSTER_FIELDS: readonly string[] = [
  'type',
  'correlationId',
  'local',
  'clusterId',
  'region',
  'priority',
  'state',
  'failoverEpoch',
  'endpoints',
  'reason',
];

/** MIRROR_FIELDS are the fields a MirrorCommand may have. */
export const MIRROR_FIELDS: readonly string[] = [
  'type',
  'correlationId',
  'sourceClusterId',
  'toRevision',
  'sourceStampMs',
  'reset',
  'changes',
];

function clusterIdField(record: Fields, field: string): string {
  return textField(record, field, clusterIdPattern, CLUSTER_ID_BYTES_MAX, CLUSTER_ID_RULES);
}

function endpointsField(record: Fields): string[] {
  const value = record.endpoints;
  if (!Array.isArray(value)) {
    throw malformed('endpoints must be an array of strings', 'endpoints');
  }
  if (value.length > CLUSTER_ENDPOINTS_MAX) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `endpoints lists ${value.length}; at most ${CLUSTER_ENDPOINTS_MAX} are allowed`,
      { field: 'endpoints', limit: CLUSTER_ENDPOINTS_MAX },
    );
  }
  return value.map((item: unknown, i: number) =>
    textField(
      { endpoint: item },
      'endpoint',
      endpointPattern,
      ENDPOINT_BYTES_MAX,
      `endpoints[${i}] must be 1..${ENDPOINT_BYTES_MAX} printable ASCII characters (host:port), no space`,
    ),
  );
}

/** parseSetCluster reads the fields of a setCluster command (parseCommand checked type and correlation id). */
export function parseSetCluster(record: Fields, correlationId: string): SetClusterCommand {
  if (typeof record.local !== 'boolean') {
    throw malformed('local must be a boolean', 'local');
  }
  const state = stringField(record, 'state');
  if (!(CLUSTER_STATES as readonly string[]).includes(state)) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `state ${JSON.stringify(state.slice(0, 32))}; allowed: ${CLUSTER_STATES.join(', ')}`,
      { field: 'state' },
    );
  }
  const reason = boundedText(record, 'reason', CLUSTER_REASON_BYTES_MAX);
  return {
    type: 'setCluster',
    correlationId,
    local: record.local,
    clusterId: clusterIdField(record, 'clusterId'),
    region: textField(
      record,
      'region',
      /^(?:[A-Za-z0-9][A-Za-z0-9._-]*)?$/,
      REGION_BYTES_MAX,
      `a region is 0..${REGION_BYTES_MAX} characters of [A-Za-z0-9._-], first [A-Za-z0-9]`,
    ),
    priority: rangeField(record, 'priority', PRIORITY_MIN, PRIORITY_MAX),
    state: state as ClusterState,
    failoverEpoch: rangeField(record, 'failoverEpoch', 0, FAILOVER_EPOCH_MAX),
    endpoints: endpointsField(record),
    reason,
  };
}

/** boundedText reads a string field of at most `bytesMax` UTF-8 bytes (INVALID_ARGUMENT naming it otherwise). */
function boundedText(record: Fields, field: string, bytesMax: number): string {
  const value = stringField(record, field);
  if (utf8ByteLength(value) > bytesMax) {
    throw new LeadershipError('INVALID_ARGUMENT', `${field} is over ${bytesMax} UTF-8 bytes`, {
      field,
      limit: bytesMax,
    });
  }
  return value;
}

/** parseFailoverStep reads the fields of a failoverStep command (parseCommand checked type and correlation id). */
export function parseFailoverStep(record: Fields, correlationId: string): FailoverStepCommand {
  const step = stringField(record, 'step');
  if (!(FAILOVER_STEPS as readonly string[]).includes(step)) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `step ${JSON.stringify(step.slice(0, 32))}; allowed: ${FAILOVER_STEPS.join(', ')}`,
      { field: 'step' },
    );
  }
  return {
    type: 'failoverStep',
    correlationId,
    step: step as FailoverStep,
    detail: boundedText(record, 'detail', FAILOVER_DETAIL_BYTES_MAX),
    reason: boundedText(record, 'reason', CLUSTER_REASON_BYTES_MAX),
  };
}

function mirrorHolder(value: unknown, i: number): MirroredHolder | null {
  if (value === null) return null;
  const h = asRecord(value, `changes[${i}].holder`);
  onlyFields(
    h,
    ['candidateId', 'metadata', 'fenceToken', 'scopeTerm', 'leaseTtlMs', 'grantedStampMs'],
    `changes[${i}].holder`,
  );
  const candidateId = stringField(h, 'candidateId');
  validateCandidateId(candidateId);
  const metadata = stringField(h, 'metadata');
  validateMetadata(metadata);
  const fenceToken = h.fenceToken;
  if (typeof fenceToken !== 'bigint' || fenceToken < 1n || fenceToken >= 1n << 64n) {
    throw malformed(`changes[${i}].holder.fenceToken must be a uint64 bigint above 0`, 'fenceToken');
  }
  return {
    candidateId,
    metadata,
    fenceToken,
    scopeTerm: rangeField(h, 'scopeTerm', 1, Number.MAX_SAFE_INTEGER),
    leaseTtlMs: rangeField(h, 'leaseTtlMs', 0, LEASE_TTL_MS_MAX),
    grantedStampMs: rangeField(h, 'grantedStampMs', 0, STAMP_MS_MAX),
  };
}

/** parseMirror reads the fields of a mirror command (parseCommand checked type and correlation id). */
export function parseMirror(record: Fields, correlationId: string): MirrorCommand {
  const toRevision = rangeField(record, 'toRevision', 1, FENCE_INDEX_MAX);
  const value = record.changes;
  if (!Array.isArray(value)) {
    throw malformed('changes must be an array of {scope, revision, holder}', 'changes');
  }
  if (value.length > MIRROR_CHANGES_MAX) {
    throw new LeadershipError(
      'BATCH_TOO_LARGE',
      `changes has ${value.length} entries; at most ${MIRROR_CHANGES_MAX} are allowed`,
      { field: 'changes', limit: MIRROR_CHANGES_MAX },
    );
  }
  if (record.reset !== undefined && typeof record.reset !== 'boolean') {
    throw malformed('reset must be a boolean', 'reset');
  }
  const changes = value.map((item: unknown, i: number): MirrorChange => {
    const c = asRecord(item, `changes[${i}]`);
    onlyFields(c, ['scope', 'revision', 'holder', 'reason'], `changes[${i}]`);
    const scope = stringField(c, 'scope');
    validateScopeName(scope);
    const revision = integerField(c, 'revision');
    if (revision < 1 || revision > toRevision) {
      throw new LeadershipError(
        'INVALID_ARGUMENT',
        `changes[${i}].revision is ${revision}; allowed: 1..toRevision(${toRevision})`,
        { field: 'revision' },
      );
    }
    const holder = mirrorHolder(c.holder, i);
    if (c.reason === undefined) return { scope, revision, holder };
    const reason = stringField(c, 'reason');
    if (!(HOLDER_CHANGE_REASONS as readonly string[]).includes(reason)) {
      throw new LeadershipError(
        'INVALID_ARGUMENT',
        `changes[${i}].reason ${JSON.stringify(reason.slice(0, 32))}; allowed: ${HOLDER_CHANGE_REASONS.join(', ')}`,
        { field: 'reason' },
      );
    }
    return { scope, revision, holder, reason: reason as HolderChangeReason };
  });
  return {
    type: 'mirror',
    correlationId,
    sourceClusterId: clusterIdField(record, 'sourceClusterId'),
    toRevision,
    sourceStampMs: rangeField(record, 'sourceStampMs', 0, STAMP_MS_MAX),
    ...(record.reset === true ? { reset: true } : {}),
    changes,
  };
}
