import type { FailoverStepCommand } from './cluster-commands';
import type { ClusterDescriptor } from './cluster-topology';
import { FAILOVER_HISTORY_MAX } from './limits';
import type { FailoverStepOutcome } from './results';
import type { EntryContext, FsmState } from './state';

/**
 * FailoverStep names one step of a failover workflow as the audit records it: `preflight`
 * (checks passed), `warning` (an emergency promotion's revisions-may-be-lost figure),
 * `replicating` (a failback's stood-down cluster streams again), `drain`,
 * `catch-up` (the mirror reached the active's revision R), `promote`, `demote`, `stand-down`,
 * `record`, `done`, `failed` (with the reason), and `descriptor`, which the state machine records
 * itself for every descriptor change it applies (the state flip, with its epoch).
 */
export type FailoverStep =
  | 'preflight'
  | 'warning'
  | 'replicating'
  | 'drain'
  | 'catch-up'
  | 'promote'
  | 'demote'
  | 'stand-down'
  | 'record'
  | 'done'
  | 'failed'
  | 'descriptor';

/** FAILOVER_STEPS lists every FailoverStep a failoverStep command may carry (`descriptor` is the state machine's own). */
export const FAILOVER_STEPS: readonly FailoverStep[] = [
  'preflight',
  'warning',
  'replicating',
  'drain',
  'catch-up',
  'promote',
  'demote',
  'stand-down',
  'record',
  'done',
  'failed',
];

/**
 * FailoverRecord is one durable audit record of a failover, in the cluster where it happened:
 * the entry that recorded it (`revision`, `stampMs`: the order), the workflow's correlation id,
 * the actor (the entry's principal, '' without credentials), the cluster id ('' before it has a
 * descriptor), the step, what it did (`detail`) and the operator's reason.
 */
export interface FailoverRecord {
  readonly revision: number;
  readonly stampMs: number;
  readonly correlationId: string;
  readonly actor: string;
  readonly clusterId: string;
  readonly step: FailoverStep;
  readonly detail: string;
  readonly reason: string;
}

/**
 * recordFailover appends `record` to the history, dropping the oldest past
 * FAILOVER_HISTORY_MAX (a ring of the last ones).
 */
export function recordFailover(history: FailoverRecord[], record: FailoverRecord): void {
  history.push(record);
  if (history.length > FAILOVER_HISTORY_MAX) history.splice(0, history.length - FAILOVER_HISTORY_MAX);
}

/** recordDescriptorChange records a descriptor change the state machine applied (step `descriptor`). */
export function recordDescriptorChange(
  state: FsmState,
  local: boolean,
  descriptor: ClusterDescriptor,
  correlationId: string,
  ctx: EntryContext,
): void {
  const topology = state.cluster;
  recordFailover(topology.history, {
    revision: ctx.index,
    stampMs: ctx.stampMs,
    correlationId,
    actor: ctx.principal,
    clusterId: topology.local?.clusterId ?? '',
    step: 'descriptor',
    detail: `${local ? 'this cluster' : 'peer'} ${descriptor.clusterId} is ${descriptor.state} in failover epoch ${descriptor.failoverEpoch}`,
    reason: descriptor.reason,
  });
}

/**
 * applyFailoverStep records one step of a failover workflow (the CLI's promote, promote --force
 * and failback propose one per step) with the entry's principal as its actor. It changes nothing
 * else, on an active or a passive cluster alike.
 */
export function applyFailoverStep(
  state: FsmState,
  command: FailoverStepCommand,
  ctx: EntryContext,
): FailoverStepOutcome {
  const record: FailoverRecord = {
    revision: ctx.index,
    stampMs: ctx.stampMs,
    correlationId: command.correlationId,
    actor: ctx.principal,
    clusterId: state.cluster.local?.clusterId ?? '',
    step: command.step,
    detail: command.detail,
    reason: command.reason,
  };
  recordFailover(state.cluster.history, record);
  return { type: 'failoverStep', record };
}
