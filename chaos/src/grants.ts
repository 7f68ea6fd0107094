import type { AuditEvent } from './history';
import type { Operation } from './operations';

/** GrantRecord says that `fence` on `scope` went to `candidate`, and where that was read. */
export interface GrantRecord {
  readonly scope: string;
  readonly fence: bigint;
  readonly candidate: string;
  readonly source: string;
}

/** AcknowledgedGrant is a grant a client was told of: asked for at `invokeNs`, answered at `ackNs`. */
export interface AcknowledgedGrant extends GrantRecord {
  readonly invokeNs: bigint;
  readonly ackNs: bigint;
}

/**
 * grantsFromEvents lists the grants in committed (file) order: every event whose new holder
 * has a fence the previous holder did not (a grant, a promotion, a preemption).
 */
export function grantsFromEvents(events: readonly AuditEvent[]): GrantRecord[] {
  return events.flatMap((event) =>
    event.holder === null || event.previousHolder?.fenceToken === event.holder.fenceToken
      ? []
      : [
          {
            scope: event.scope,
            fence: event.holder.fenceToken,
            candidate: event.holder.candidateId,
            source: event.source,
          },
        ],
  );
}

/** grantsFromOperations lists the grants clients were acknowledged: ok acquire (granted) and campaign. */
export function grantsFromOperations(operations: readonly Operation[]): AcknowledgedGrant[] {
  return operations.flatMap((op) =>
    (op.f === 'acquire' || op.f === 'campaign') &&
    op.status === 'ok' &&
    op.output.granted === true &&
    op.output.fence !== undefined &&
    op.completeNs !== null
      ? [
          {
            scope: op.scope,
            fence: op.output.fence,
            candidate: op.input.candidate ?? '',
            source: op.source,
            invokeNs: op.invokeNs,
            ackNs: op.completeNs,
          },
        ]
      : [],
  );
}

/** grantKey names a lease: its scope and fence. */
export function grantKey(scope: string, fence: bigint): string {
  return `${scope}\u0000${fence}`;
}
