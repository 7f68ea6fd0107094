import type { FailoverRecord } from './cluster-history';
import type { ClusterDescriptor } from './cluster-topology';
import type { CommandError } from './errors';
import type { LeadershipEvent } from './events';
import type { HolderRef } from './events';
import type { LeaseView } from './lease';

/**
 * AcquireOutcome answers an acquire: the lease when granted (or when the candidate already held
 * the scope, `alreadyHolder`), else the current holder's lease.
 */
export type AcquireOutcome =
  | {
      readonly type: 'acquire';
      readonly granted: true;
      readonly alreadyHolder: boolean;
      readonly lease: LeaseView;
    }
  | { readonly type: 'acquire'; readonly granted: false; readonly holder: LeaseView };

/**
 * CampaignOutcome answers a campaign: the lease when elected at once (or already holder), else
 * the 0-based rank in the queue and the current holder. A candidate already waiting keeps its
 * place and priority (`alreadyWaiting`); to change priority it withdraws and campaigns again.
 */
export type CampaignOutcome =
  | {
      readonly type: 'campaign';
      readonly elected: true;
      readonly alreadyHolder: boolean;
      readonly lease: LeaseView;
    }
  | {
      readonly type: 'campaign';
      readonly elected: false;
      readonly alreadyWaiting: boolean;
      readonly position: number;
      readonly holder: LeaseView;
    };

/** WithdrawOutcome confirms that the candidate left the scope's queue. */
export interface WithdrawOutcome {
  readonly type: 'withdraw';
  readonly scope: string;
  readonly candidateId: string;
}

/** ResignOutcome confirms a resignation and names the promoted successor, or null when the scope fell vacant. */
export interface ResignOutcome {
  readonly type: 'resign';
  readonly scope: string;
  readonly successor: LeaseView | null;
}

/** RenewItem is the answer for one lease of a renew batch, in the batch's order. */
export type RenewItem =
  | {
      readonly scope: string;
      readonly fenceToken: bigint;
      readonly renewed: true;
      readonly deadlineMs: number;
    }
  | {
      readonly scope: string;
      readonly fenceToken: bigint;
      readonly renewed: false;
      readonly code: 'STALE_FENCE' | 'INVALID_SCOPE' | 'INVALID_ARGUMENT';
      readonly currentFenceToken: bigint | null;
    };

/** RenewOutcome answers a renew batch: how many leases were renewed and one item per listed lease. */
export interface RenewOutcome {
  readonly type: 'renew';
  readonly renewedCount: number;
  readonly leases: readonly RenewItem[];
}

/**
 * ExpireItem is the answer for one lease of an expire batch: expired (with the promoted
 * successor, if any) or left alone with the reason — `STALE_FENCE` (the fence is no longer the
 * holder's), `NOT_DUE` (the deadline is after the entry's stamp), or a bad scope or fence.
 */
export type ExpireItem =
  | {
      readonly scope: string;
      readonly fenceToken: bigint;
      readonly expired: true;
      readonly successor: LeaseView | null;
    }
  | {
      readonly scope: string;
      readonly fenceToken: bigint;
      readonly expired: false;
      readonly reason: 'STALE_FENCE' | 'NOT_DUE' | 'INVALID_SCOPE' | 'INVALID_ARGUMENT';
      readonly deadlineMs: number | null;
    };

/** ExpireOutcome answers an expire batch: how many leases ended and one item per listed lease. */
export interface ExpireOutcome {
  readonly type: 'expire';
  readonly expiredCount: number;
  readonly leases: readonly ExpireItem[];
}

/** StepDownOutcome names the removed holder and its successor, or null when the scope fell vacant. */
export interface StepDownOutcome {
  readonly type: 'stepDown';
  readonly scope: string;
  readonly previousHolder: HolderRef;
  readonly successor: LeaseView | null;
}

/** GraceOutcome says how many leases had their deadline moved up to `graceDeadlineMs`. */
export interface GraceOutcome {
  readonly type: 'grace';
  readonly extendedCount: number;
  readonly graceDeadlineMs: number;
}

/**
 * SetClusterOutcome returns the descriptor as set, how many waiting candidates a change to
 * passive or draining dropped, how many leases it ended because the cluster no longer grants
 * (each with a `steppedDown` event carrying the change's correlation id), and how many a
 * promotion inherited.
 */
export interface SetClusterOutcome {
  readonly type: 'setCluster';
  readonly descriptor: ClusterDescriptor;
  readonly waitersDropped: number;
  readonly leasesEnded: number;
  /**
   * leasesInherited counts the leases a promotion took over from the old active's mirrored
   * holders (see applySetCluster): each holds its scope until its deadline, one TTL after the
   * promotion, with a `granted` event.
   */
  readonly leasesInherited: number;
}

/** MirrorOutcome confirms a mirror batch: its source, the source revision now held, and its size. */
export interface MirrorOutcome {
  readonly type: 'mirror';
  readonly sourceClusterId: string;
  readonly toRevision: number;
  readonly appliedCount: number;
}

/** FailoverStepOutcome returns the failover record a failoverStep command added to the history. */
export interface FailoverStepOutcome {
  readonly type: 'failoverStep';
  readonly record: FailoverRecord;
}

/** CommandOutcome is the answer to an applied command, tagged with the command's type. */
export type CommandOutcome =
  | AcquireOutcome
  | CampaignOutcome
  | WithdrawOutcome
  | ResignOutcome
  | RenewOutcome
  | ExpireOutcome
  | StepDownOutcome
  | GraceOutcome
  | SetClusterOutcome
  | MirrorOutcome
  | FailoverStepOutcome;

/**
 * ApplyResult is what `apply` returns for one entry: either the command's outcome with the
 * events it produced, or a refusal (`ok: false`) with a typed error and no change of state.
 * Both are pure functions of the state and the entry, the same on every replica.
 */
export type ApplyResult =
  | {
      readonly ok: true;
      readonly index: number;
      readonly correlationId: string;
      readonly outcome: CommandOutcome;
      readonly events: readonly LeadershipEvent[];
    }
  | {
      readonly ok: false;
      readonly index: number;
      readonly error: CommandError;
      readonly events: readonly LeadershipEvent[];
    };
