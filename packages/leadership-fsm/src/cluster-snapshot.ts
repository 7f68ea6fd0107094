import type { FailoverRecord, FailoverStep } from './cluster-history';
import { FAILOVER_STEPS, recordFailover } from './cluster-history';
import type { ClusterDescriptor, ClusterState, MirroredHolder } from './cluster-topology';
import { CLUSTER_STATES, ClusterTopology } from './cluster-topology';
import { LeadershipError } from './errors';
import { epochOfFence } from './fence';

/**
 * The cross-cluster section of snapshot format 3: `[local | null, peers, mirror]`, a descriptor
 * `[clusterId, region, priority, state, failoverEpoch, endpoints, changedBy, reason,
 * changedRevision, changedStampMs]`, peers sorted by id, the mirror `[sourceClusterId,
 * versionVector, epochMax, sourceStampMs, scopes]` with the vector as `[[clusterId, revision]]`
 * sorted by id and scopes sorted by name, each `[scope, revision, lastFenceToken, holder | null]`
 * followed by the stepped-down holder when there is one (`[…, holder | null, steppedDownHolder]`),
 * a holder `[candidateId, metadata, fenceToken, scopeTerm, leaseTtlMs, grantedStampMs]`; then
 * the failover history, oldest first, each `[revision, stampMs, correlationId, actor, clusterId,
 * step, detail, reason]` (a section of 3, written before the history existed, has none).
 */

function descriptorTuple(d: ClusterDescriptor): unknown[] {
  return [
    d.clusterId,
    d.region,
    d.priority,
    d.state,
    d.failoverEpoch,
    [...d.endpoints],
    d.changedBy,
    d.reason,
    d.changedRevision,
    d.changedStampMs,
  ];
}

function holderTuple(h: MirroredHolder | null): unknown[] | null {
  return h === null
    ? null
    : [h.candidateId, h.metadata, h.fenceToken, h.scopeTerm, h.leaseTtlMs, h.grantedStampMs];
}

/** clusterSection lays out the cross-cluster state as snapshot format 3 stores it (fresh arrays). */
export function clusterSection(topology: ClusterTopology): unknown[] {
  return [
    topology.local === null ? null : descriptorTuple(topology.local),
    topology.sortedPeers().map(descriptorTuple),
    [
      topology.mirrorSourceId,
      Array.from(topology.versionVector.entries()).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      topology.mirrorEpochMax,
      topology.mirrorStampMs,
      topology
        .sortedMirror()
        .map((m) =>
          m.steppedDownHolder === null
            ? [m.scope, m.revision, m.lastFenceToken, holderTuple(m.holder)]
            : [
                m.scope,
                m.revision,
                m.lastFenceToken,
                holderTuple(m.holder),
                holderTuple(m.steppedDownHolder),
              ],
        ),
    ],
    topology.history.map((r) => [
      r.revision,
      r.stampMs,
      r.correlationId,
      r.actor,
      r.clusterId,
      r.step,
      r.detail,
      r.reason,
    ]),
  ];
}

function decodeRecord(value: unknown): FailoverRecord {
  const r = arrayOf(value, 8, 'failover record');
  const step = str(r[5], 'failover record step');
  if (step !== 'descriptor' && !(FAILOVER_STEPS as readonly string[]).includes(step)) {
    throw invalid('failover record step is unknown');
  }
  return {
    revision: int(r[0], 'failover record revision'),
    stampMs: int(r[1], 'failover record stampMs'),
    correlationId: str(r[2], 'failover record correlationId'),
    actor: str(r[3], 'failover record actor'),
    clusterId: str(r[4], 'failover record clusterId'),
    step: step as FailoverStep,
    detail: str(r[6], 'failover record detail'),
    reason: str(r[7], 'failover record reason'),
  };
}

function invalid(message: string): LeadershipError {
  return new LeadershipError('INVALID_SNAPSHOT', `invalid snapshot: cluster section: ${message}`);
}

function arrayOf(value: unknown, length: number | undefined, what: string): readonly unknown[] {
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    throw invalid(`${what} is not an array${length === undefined ? '' : ` of ${length}`}`);
  }
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalid(`${what} is not a string`);
  return value;
}

function int(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw invalid(`${what} is not a safe integer`);
  return value;
}

function fence(value: unknown, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) throw invalid(`${what} is not a uint64`);
  return value;
}

function decodeDescriptor(value: unknown, what: string): ClusterDescriptor {
  const d = arrayOf(value, 10, what);
  const state = str(d[3], `${what}.state`);
  if (!(CLUSTER_STATES as readonly string[]).includes(state)) throw invalid(`${what}.state is unknown`);
  return {
    clusterId: str(d[0], `${what}.clusterId`),
    region: str(d[1], `${what}.region`),
    priority: int(d[2], `${what}.priority`),
    state: state as ClusterState,
    failoverEpoch: int(d[4], `${what}.failoverEpoch`),
    endpoints: arrayOf(d[5], undefined, `${what}.endpoints`).map((e) => str(e, `${what}.endpoints[]`)),
    changedBy: str(d[6], `${what}.changedBy`),
    reason: str(d[7], `${what}.reason`),
    changedRevision: int(d[8], `${what}.changedRevision`),
    changedStampMs: int(d[9], `${what}.changedStampMs`),
  };
}

function decodeHolder(value: unknown, what: string): MirroredHolder | null {
  if (value === null) return null;
  const h = arrayOf(value, 6, what);
  return {
    candidateId: str(h[0], `${what}.candidateId`),
    metadata: str(h[1], `${what}.metadata`),
    fenceToken: fence(h[2], `${what}.fenceToken`),
    scopeTerm: int(h[3], `${what}.scopeTerm`),
    leaseTtlMs: int(h[4], `${what}.leaseTtlMs`),
    grantedStampMs: int(h[5], `${what}.grantedStampMs`),
  };
}

/** decodeClusterSection rebuilds the cross-cluster state from `clusterSection`'s layout (INVALID_SNAPSHOT otherwise). */
export function decodeClusterSection(value: unknown): ClusterTopology {
  const section = arrayOf(value, undefined, 'the section');
  if (section.length !== 3 && section.length !== 4) throw invalid('the section is not an array of 3 or 4');
  const topology = new ClusterTopology();
  topology.local = section[0] === null ? null : decodeDescriptor(section[0], 'local');
  for (const peer of arrayOf(section[1], undefined, 'peers')) {
    const d = decodeDescriptor(peer, 'peer');
    topology.peers.set(d.clusterId, d);
  }
  const mirror = arrayOf(section[2], 5, 'mirror');
  topology.mirrorSourceId = str(mirror[0], 'mirror.sourceClusterId');
  for (const pair of arrayOf(mirror[1], undefined, 'mirror.versionVector')) {
    const p = arrayOf(pair, 2, 'mirror.versionVector[]');
    topology.versionVector.set(str(p[0], 'vector cluster id'), int(p[1], 'vector revision'));
  }
  topology.mirrorEpochMax = int(mirror[2], 'mirror.epochMax');
  topology.mirrorStampMs = int(mirror[3], 'mirror.sourceStampMs');
  for (const item of arrayOf(mirror[4], undefined, 'mirror.scopes')) {
    const m = arrayOf(item, undefined, 'mirror scope');
    if (m.length !== 4 && m.length !== 5) throw invalid('mirror scope is not an array of 4 or 5');
    const scope = str(m[0], 'mirror scope name');
    const lastFenceToken = fence(m[2], 'mirror lastFenceToken');
    if (epochOfFence(lastFenceToken) > topology.mirrorEpochMax)
      throw invalid(`mirror scope ${scope}: epoch above epochMax`);
    topology.mirror.set(scope, {
      scope,
      revision: int(m[1], 'mirror revision'),
      lastFenceToken,
      holder: decodeHolder(m[3], 'mirror holder'),
      steppedDownHolder: m.length === 5 ? decodeHolder(m[4], 'mirror steppedDownHolder') : null,
    });
  }
  for (const item of section.length === 4 ? arrayOf(section[3], undefined, 'history') : []) {
    recordFailover(topology.history, decodeRecord(item));
  }
  return topology;
}
