import type { ClusterState, SetClusterCommand } from '@omnirelay/leadership-fsm';
import { SET_CLUSTER_FIELDS } from '@omnirelay/leadership-fsm';
import { ServerError } from '../errors/error-table';
import { optionalString, requireObject, stringField } from '../http/request-fields';

/** SetClusterRequest is a descriptor change as the edges take it (see SetClusterCommand). */
export type SetClusterRequest = Omit<SetClusterCommand, 'type' | 'correlationId'> & {
  readonly correlationId?: string;
};

/**
 * SET_CLUSTER_REQUEST_FIELDS are the fields of a POST /control/clusters body (and of the gRPC
 * request): the command's, but its type.
 */
export const SET_CLUSTER_REQUEST_FIELDS: readonly string[] = SET_CLUSTER_FIELDS.filter((f) => f !== 'type');

function integer(o: Record<string, unknown>, name: string, fallback: number): number {
  const v = o[name] ?? fallback;
  const n = typeof v === 'string' && /^-?\d{1,15}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new ServerError('INVALID_ARGUMENT', `${name} must be an integer`, { field: name });
  }
  return n;
}

/**
 * setClusterRequest reads a descriptor change from a JSON body or a decoded gRPC request:
 * `clusterId` and `state` are required; `local` defaults to true, `region` and `reason` to '',
 * `priority` and `failoverEpoch` to 0, `endpoints` to none. The state machine checks the values'
 * ranges (INVALID_ARGUMENT naming the field) before anything is replicated.
 */
export function setClusterRequest(body: unknown): SetClusterRequest {
  const o = requireObject(body, SET_CLUSTER_REQUEST_FIELDS);
  const local = o['local'] ?? true;
  if (typeof local !== 'boolean') {
    throw new ServerError('INVALID_ARGUMENT', 'local must be true (this cluster) or false (a peer)', {
      field: 'local',
    });
  }
  const endpoints = o['endpoints'] ?? [];
  if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== 'string')) {
    throw new ServerError('INVALID_ARGUMENT', 'endpoints must be an array of "host:port" strings', {
      field: 'endpoints',
    });
  }
  const correlationId = optionalString(o, 'correlationId');
  return {
    local,
    clusterId: stringField(o, 'clusterId'),
    region: optionalString(o, 'region') ?? '',
    priority: integer(o, 'priority', 0),
    state: stringField(o, 'state') as ClusterState,
    failoverEpoch: integer(o, 'failoverEpoch', 0),
    endpoints: endpoints as string[],
    reason: optionalString(o, 'reason') ?? '',
    ...(correlationId === undefined || correlationId === '' ? {} : { correlationId }),
  };
}
