import type { MirrorCommand, SetClusterCommand } from './cluster-commands';
import type { ClusterDescriptor, MirroredHolder, MirroredScope } from './cluster-topology';
import { recordDescriptorChange } from './cluster-history';
import { LeadershipError } from './errors';
import { FAILOVER_EPOCH_MAX, FENCE_INDEX_MAX, epochOfFence } from './fence';
import { PEER_CLUSTERS_MAX, SCOPE_COUNT_MAX } from './limits';
import type { MirrorOutcome, SetClusterOutcome } from './results';
import type { EntryContext, FsmState } from './state';

/**
 * refuseUnlessGranting throws unless this cluster may grant at entry `ctx`: CLUSTER_PASSIVE when
 * it is passive or draining (naming the active peer and its endpoints when one is known) or when
 * it is active but knows an active peer at a higher failover epoch (it was superseded), and
 * FENCE_SPACE_EXHAUSTED when the entry's index no longer fits a fence. Every command that can
 * grant calls it before it changes anything.
 */
export function refuseUnlessGranting(state: FsmState, ctx: EntryContext, what: string): void {
  const topology = state.cluster;
  const active = topology.activePeer();
  if (topology.state === 'active' && !grants(state) && active !== undefined) {
    // Superseded: a peer was promoted above this cluster's epoch (an old active that learns of
    // its successor). Its fences would be dominated anyway; granting them would only mislead.
    throw new LeadershipError(
      'CLUSTER_PASSIVE',
      `cluster ${JSON.stringify(topology.local?.clusterId ?? '')} was superseded: the active cluster ${JSON.stringify(active.clusterId)} is at failover epoch ${active.failoverEpoch}, above this cluster's ${topology.epoch}, so this one grants nothing (${what}); send it to ${JSON.stringify(active.clusterId)} (${active.endpoints.join(', ') || 'no endpoints known'})`,
      {
        activeClusterId: active.clusterId,
        activeEndpoints: active.endpoints.join(','),
        failoverEpoch: topology.epoch,
      },
    );
  }
  if (topology.state !== 'active') {
    const where =
      active === undefined
        ? 'no active cluster is known to it'
        : `send it to the active cluster ${JSON.stringify(active.clusterId)} (${active.endpoints.join(', ') || 'no endpoints known'})`;
    throw new LeadershipError(
      'CLUSTER_PASSIVE',
      `cluster ${JSON.stringify(topology.local?.clusterId ?? '')} is ${topology.state} and grants nothing (${what}); ${where}`,
      {
        activeClusterId: active?.clusterId ?? '',
        activeEndpoints: active?.endpoints.join(',') ?? '',
        failoverEpoch: topology.epoch,
      },
    );
  }
  if (ctx.index > FENCE_INDEX_MAX) {
    throw new LeadershipError(
      'FENCE_SPACE_EXHAUSTED',
      `entry ${ctx.index} is above ${FENCE_INDEX_MAX}, the highest Raft index a fence can carry; this cluster can grant nothing more`,
      { limit: FENCE_INDEX_MAX },
    );
  }
}

function epochRegression(message: string, epoch: number): LeadershipError {
  return new LeadershipError('EPOCH_REGRESSION', message, { field: 'failoverEpoch', failoverEpoch: epoch });
}

/**
 * applySetCluster sets this cluster's descriptor or a peer's. The epoch of a descriptor never
 * goes down; this cluster becoming active from passive or draining must raise its epoch above
 * its own and above every epoch it knows of (peers and mirrored fences), so that every fence it
 * grants from then on is above every fence those clusters could have granted. A change after
 * which this cluster no longer grants (passive, draining, or a peer promoted above it) drops every
 * waiting candidate and ends every lease (see stopGrantingUnlessActive); a promotion that makes
 * it grant inherits the mirror's holders as leases ending one TTL later (inheritMirroredLeases).
 */
export function applySetCluster(
  state: FsmState,
  command: SetClusterCommand,
  ctx: EntryContext,
): SetClusterOutcome {
  const topology = state.cluster;
  const descriptor: ClusterDescriptor = {
    clusterId: command.clusterId,
    region: command.region,
    priority: command.priority,
    state: command.state,
    failoverEpoch: command.failoverEpoch,
    endpoints: [...command.endpoints],
    changedBy: ctx.principal,
    reason: command.reason,
    changedRevision: ctx.index,
    changedStampMs: ctx.stampMs,
  };
  if (!command.local) {
    const localId = topology.local?.clusterId;
    if (localId === command.clusterId) {
      throw new LeadershipError(
        'INVALID_ARGUMENT',
        `cluster ${JSON.stringify(command.clusterId)} is this cluster; set it with local: true`,
        { field: 'clusterId' },
      );
    }
    const known = topology.peers.get(command.clusterId);
    if (known !== undefined && command.failoverEpoch < known.failoverEpoch) {
      throw epochRegression(
        `peer ${JSON.stringify(command.clusterId)} is at failover epoch ${known.failoverEpoch}; ${command.failoverEpoch} is lower`,
        known.failoverEpoch,
      );
    }
    if (known === undefined && topology.peers.size >= PEER_CLUSTERS_MAX) {
      throw new LeadershipError(
        'INVALID_ARGUMENT',
        `this cluster already knows ${PEER_CLUSTERS_MAX} peer clusters; no more can be added`,
        { field: 'clusterId', limit: PEER_CLUSTERS_MAX },
      );
    }
    topology.peers.set(command.clusterId, descriptor);
    recordDescriptorChange(state, false, descriptor, command.correlationId, ctx);
    return { type: 'setCluster', descriptor, ...stopGrantingUnlessActive(state, ctx), leasesInherited: 0 };
  }
  const current = topology.local;
  if (current !== null && current.clusterId !== command.clusterId) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `this cluster is ${JSON.stringify(current.clusterId)}; its id cannot change to ${JSON.stringify(command.clusterId)}`,
      { field: 'clusterId' },
    );
  }
  if (topology.peers.has(command.clusterId)) {
    throw new LeadershipError(
      'INVALID_ARGUMENT',
      `cluster ${JSON.stringify(command.clusterId)} is known as a peer; this cluster needs an id of its own`,
      { field: 'clusterId' },
    );
  }
  const epoch = topology.epoch;
  if (command.failoverEpoch < epoch) {
    throw epochRegression(
      `this cluster is at failover epoch ${epoch}; the epoch only rises and ${command.failoverEpoch} is lower`,
      epoch,
    );
  }
  if (command.state === 'active' && topology.state !== 'active') {
    const floor = Math.max(epoch, topology.epochFloor());
    if (command.failoverEpoch <= floor) {
      throw epochRegression(
        floor >= FAILOVER_EPOCH_MAX
          ? `no failover epoch is left above ${floor}: this cluster cannot be promoted`
          : `a promotion to active must raise the failover epoch above ${floor} (this cluster's and every epoch it knows of); give at least ${floor + 1}`,
        epoch,
      );
    }
  }
  const wasGranting = grants(state);
  const inherits = !wasGranting && topology.state !== 'active' && command.state === 'active';
  if (inherits) refuseUnlessRoomToInherit(state);
  topology.local = descriptor;
  recordDescriptorChange(state, true, descriptor, command.correlationId, ctx);
  const leasesInherited = inherits && grants(state) ? inheritMirroredLeases(state, ctx) : 0;
  return { type: 'setCluster', descriptor, ...stopGrantingUnlessActive(state, ctx), leasesInherited };
}

/** heldInMirror is the holder a promotion keeps a mirrored scope held for: the current one, else a stepped-down one. */
function heldInMirror(mirrored: MirroredScope): MirroredHolder | null {
  return mirrored.holder ?? mirrored.steppedDownHolder;
}

/**
 * refuseUnlessRoomToInherit throws SCOPE_LIMIT_REACHED when the scopes a promotion would inherit
 * (held in the mirror, unknown to this cluster) would take it past SCOPE_COUNT_MAX: such a
 * promotion is refused as a whole rather than hand out a scope someone may still hold.
 */
function refuseUnlessRoomToInherit(state: FsmState): void {
  let added = 0;
  for (const mirrored of state.cluster.mirror.values()) {
    if (heldInMirror(mirrored) !== null && !state.scopes.has(mirrored.scope)) added++;
  }
  if (state.scopes.size + added > SCOPE_COUNT_MAX) {
    throw new LeadershipError(
      'SCOPE_LIMIT_REACHED',
      `a promotion would inherit ${added} held scopes this cluster does not keep yet; with its ${state.scopes.size} scopes that is more than ${SCOPE_COUNT_MAX}, so it is refused`,
      { limit: SCOPE_COUNT_MAX },
    );
  }
}

/**
 * inheritMirroredLeases runs in the entry that makes this cluster grant again (a promotion from
 * passive or draining): every scope the mirror shows held (or whose holder the old active
 * stepped down, as a drain does) gets that holder as an inherited lease, in scope order, so no
 * one is granted the scope while the old holder may still trust its lease. That holder's own
 * view ends before its last renewal at the old active + TTL, and its last renewal came before
 * this entry (the drain, or the old active's death, came first), so the inherited lease runs
 * from this entry's stamp for the mirrored TTL; then this cluster's expiry ends it (`expired`)
 * and promotes a waiter with a fence of the new epoch. It keeps the old active's fence (its
 * epoch is below this cluster's: `FsmState.isInherited`) and session '' (no acquire or campaign
 * gets it back), and it is never renewed here. A mirrored fence not above the scope's last fence
 * here (this cluster granted later, in an earlier term as active) is not inherited. It returns
 * how many leases it installed.
 */
function inheritMirroredLeases(state: FsmState, ctx: EntryContext): number {
  let inherited = 0;
  for (const mirrored of state.cluster.sortedMirror()) {
    const holder = heldInMirror(mirrored);
    if (holder === null) continue;
    const existing = state.scopes.get(mirrored.scope);
    if (existing !== undefined && holder.fenceToken <= existing.lastFenceToken) continue;
    const record = existing ?? state.createScope(mirrored.scope);
    const lastFenceToken =
      mirrored.lastFenceToken > holder.fenceToken ? mirrored.lastFenceToken : holder.fenceToken;
    state.inheritLease(
      record,
      {
        candidateId: holder.candidateId,
        sessionId: '',
        metadata: holder.metadata,
        fenceToken: holder.fenceToken,
        leaseTtlMs: holder.leaseTtlMs,
        grantedStampMs: holder.grantedStampMs,
        lastRenewalStampMs: ctx.stampMs,
        deadlineMs: ctx.stampMs + holder.leaseTtlMs,
      },
      lastFenceToken,
      ctx,
    );
    inherited++;
  }
  return inherited;
}

/**
 * grants tells whether this cluster grants: it is active and knows no active peer at a higher
 * failover epoch (one that was promoted above it).
 */
function grants(state: FsmState): boolean {
  const topology = state.cluster;
  const active = topology.activePeer();
  return topology.state === 'active' && (active === undefined || active.failoverEpoch <= topology.epoch);
}

/**
 * stopGrantingUnlessActive, once this cluster no longer grants (draining, passive or superseded),
 * drops every waiting candidate (none could ever be promoted here) and then ends every lease it
 * granted, each with a `steppedDown` event of the descriptor change: a cluster that does not
 * grant renews nothing either, so its holders' next renewal is refused and they stop acting
 * (Lease.signal aborts). Every scope falls vacant. It runs after every check of the change, so a
 * refused change drops and ends nothing.
 */
function stopGrantingUnlessActive(
  state: FsmState,
  ctx: EntryContext,
): { readonly waitersDropped: number; readonly leasesEnded: number } {
  if (grants(state)) return { waitersDropped: 0, leasesEnded: 0 };
  let waitersDropped = 0;
  let leasesEnded = 0;
  for (const name of state.sortedScopeNames()) {
    const record = state.scopes.get(name)!;
    for (const waiter of record.queue.toArray()) {
      state.removeWaiter(record, waiter.candidateId);
      waitersDropped++;
    }
    if (record.holder === null) continue;
    state.endLease(record, 'steppedDown', ctx);
    leasesEnded++;
  }
  return { waitersDropped, leasesEnded };
}

/**
 * applyMirror applies a batch of the active cluster's holder changes to the read-only mirror and
 * moves the version vector to `toRevision`. Refused (nothing changes): on an active cluster
 * (CLUSTER_ACTIVE), from this cluster itself, at or below the revision the mirror has, or from a
 * new source without `reset` (MIRROR_OUT_OF_ORDER), or past SCOPE_COUNT_MAX mirrored scopes.
 */
export function applyMirror(state: FsmState, command: MirrorCommand): MirrorOutcome {
  const topology = state.cluster;
  if (topology.local === null || topology.state === 'active') {
    throw new LeadershipError(
      'CLUSTER_ACTIVE',
      `this cluster is active; it mirrors no other cluster (a mirror entry from ${JSON.stringify(command.sourceClusterId)} changes nothing)`,
    );
  }
  if (command.sourceClusterId === topology.local.clusterId) {
    throw new LeadershipError('INVALID_ARGUMENT', `a cluster cannot mirror itself`, {
      field: 'sourceClusterId',
    });
  }
  const reset = command.reset === true;
  if (!reset) {
    if (topology.mirrorSourceId !== '' && topology.mirrorSourceId !== command.sourceClusterId) {
      throw new LeadershipError(
        'MIRROR_OUT_OF_ORDER',
        `the mirror copies ${JSON.stringify(topology.mirrorSourceId)}; changes from ${JSON.stringify(command.sourceClusterId)} need a reset`,
        { field: 'sourceClusterId' },
      );
    }
    const have = topology.versionVector.get(command.sourceClusterId) ?? 0;
    if (command.toRevision <= have) {
      throw new LeadershipError(
        'MIRROR_OUT_OF_ORDER',
        `the mirror already holds ${JSON.stringify(command.sourceClusterId)} up to revision ${have}; ${command.toRevision} is not above it`,
        { field: 'toRevision' },
      );
    }
  }
  const base = reset ? new Map<string, MirroredScope>() : topology.mirror;
  let added = 0;
  for (const change of command.changes) if (!base.has(change.scope)) added++;
  if (base.size + added > SCOPE_COUNT_MAX) {
    throw new LeadershipError(
      'SCOPE_LIMIT_REACHED',
      `the mirror would hold more than ${SCOPE_COUNT_MAX} scopes`,
      { limit: SCOPE_COUNT_MAX },
    );
  }
  if (reset) {
    topology.mirror.clear();
    topology.versionVector.clear();
  }
  for (const change of command.changes) {
    const previous = topology.mirror.get(change.scope);
    // A change older than the one the mirror has (a new replicator re-reading a suffix) is skipped.
    if (previous !== undefined && change.revision < previous.revision) continue;
    const fence = change.holder?.fenceToken ?? 0n;
    const lastFenceToken =
      previous === undefined || fence > previous.lastFenceToken ? fence : previous.lastFenceToken;
    // A step-down with no successor (a drain) ends a lease its holder still trusts until its next
    // renewal: the mirror keeps that holder, so a promotion does not hand the scope on before then.
    const steppedDownHolder =
      change.holder === null && change.reason === 'steppedDown' ? (previous?.holder ?? null) : null;
    topology.mirror.set(change.scope, {
      scope: change.scope,
      revision: change.revision,
      lastFenceToken,
      holder: change.holder === null ? null : { ...change.holder },
      steppedDownHolder,
    });
    topology.mirrorEpochMax = Math.max(topology.mirrorEpochMax, epochOfFence(lastFenceToken));
  }
  topology.mirrorSourceId = command.sourceClusterId;
  topology.versionVector.set(command.sourceClusterId, command.toRevision);
  topology.mirrorStampMs = Math.max(topology.mirrorStampMs, command.sourceStampMs);
  return {
    type: 'mirror',
    sourceClusterId: command.sourceClusterId,
    toRevision: command.toRevision,
    appliedCount: command.changes.length,
  };
}
