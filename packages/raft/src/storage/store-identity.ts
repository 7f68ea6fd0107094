import { randomUUID } from 'node:crypto';
import { isIncarnation } from '../core/index';

/**
 * InitialClusterState says what a node does when its data folder holds no store yet (etcd's
 * `--initial-cluster-state`): `new` bootstraps a new cluster from the bootstrap voters; `existing`
 * creates an empty store that joins a running cluster and waits to be added. An existing store
 * ignores it.
 */
export type InitialClusterState = 'new' | 'existing';

/** INITIAL_CLUSTER_STATES lists the values of InitialClusterState, for validation. */
export const INITIAL_CLUSTER_STATES: readonly InitialClusterState[] = ['new', 'existing'];

/**
 * StoreIdentity is written once, when a store is created, and never changes: the cluster id it
 * belongs to ('' when none was given; a store of another cluster is refused), its incarnation (a random id; a data folder
 * that is lost and created again gets another, which is how the cluster tells that it lost what it
 * acknowledged: RaftConfig.incarnation), and whether it was created empty to join
 * (RaftConfig.requireBinding) rather than to bootstrap a new cluster.
 */
export interface StoreIdentity {
  readonly clusterId: string;
  readonly incarnation: string;
  readonly createdToJoin: boolean;
}

/** newStoreIdentity makes the identity of a store created now. */
export function newStoreIdentity(clusterId: string, state: InitialClusterState): StoreIdentity {
  return { clusterId, incarnation: randomUUID(), createdToJoin: state === 'existing' };
}

/** isStoreIdentity checks the shape of an identity read from disk. */
export function isStoreIdentity(v: unknown): v is StoreIdentity {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.clusterId === 'string' && isIncarnation(s.incarnation) && typeof s.createdToJoin === 'boolean'
  );
}
