import type { FailoverStep, FailoverStepCommand } from '@omnirelay/leadership-fsm';
import { FAILOVER_STEP_FIELDS } from '@omnirelay/leadership-fsm';
import { optionalString, requireObject, stringField } from '../http/request-fields';

/** FailoverStepRequest is one failover step as the edges take it (see FailoverStepCommand). */
export type FailoverStepRequest = Omit<FailoverStepCommand, 'type' | 'correlationId'> & {
  readonly correlationId?: string;
};

/**
 * FAILOVER_STEP_REQUEST_FIELDS are the fields of a POST /control/clusters/history body (and of
 * the gRPC RecordFailoverStep request): the command's, but its type.
 */
export const FAILOVER_STEP_REQUEST_FIELDS: readonly string[] = FAILOVER_STEP_FIELDS.filter(
  (f) => f !== 'type',
);

/**
 * failoverStepRequest reads a failover step from a JSON body or a decoded gRPC request: `step` is
 * required; `detail` and `reason` default to '', the correlation id to a generated one. The state
 * machine checks the step name and the lengths (INVALID_ARGUMENT naming the field) before
 * anything is replicated.
 */
export function failoverStepRequest(body: unknown): FailoverStepRequest {
  const o = requireObject(body, FAILOVER_STEP_REQUEST_FIELDS);
  const correlationId = optionalString(o, 'correlationId');
  return {
    step: stringField(o, 'step') as FailoverStep,
    detail: optionalString(o, 'detail') ?? '',
    reason: optionalString(o, 'reason') ?? '',
    ...(correlationId === undefined || correlationId === '' ? {} : { correlationId }),
  };
}
