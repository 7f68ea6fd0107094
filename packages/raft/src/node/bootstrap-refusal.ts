import type { TransportLogger } from '../transport/index';
import { peerTls, probePeers } from '../transport/index';
import type { RaftNodeConfig } from './node-config';
import { RaftNodeConfigError } from './node-config';

/** BOOTSTRAP_PROBE_TIMEOUT_MS bounds how long a node about to bootstrap waits for its peers' answers. */
const BOOTSTRAP_PROBE_TIMEOUT_MS = 1000;

/**
 * refuseBootstrapOfKnownMember asks the peers of a node about to bootstrap a new cluster
 * (--initial-cluster-state new, empty data folder) whether they already count on it: a peer whose
 * configuration binds this id to an incarnation has seen it run, so its data folder was lost, and
 * bootstrapping again would bring it back as a voter with none of what it acknowledged. Peers that
 * do not answer (a new cluster whose members start together) do not stop it (etcd's check
 * that a member "has already been bootstrapped").
 */
export async function refuseBootstrapOfKnownMember(
  config: RaftNodeConfig,
  logger: TransportLogger,
): Promise<void> {
  const peers = new Map(Object.entries(config.peers));
  if (peers.size === 0) return;
  const tls = config.peerTls === undefined ? undefined : peerTls(config.peerTls, config.clusterId);
  const results = await probePeers(
    peers,
    config.id,
    config.clusterId,
    BOOTSTRAP_PROBE_TIMEOUT_MS,
    tls?.channel,
  );
  const knowing = results.find((r) => r.ok && r.answer.boundIncarnation !== '');
  if (knowing === undefined || !knowing.ok) {
    logger.info(
      { node: config.id, answered: results.filter((r) => r.ok).map((r) => r.peer) },
      'bootstrapping a new cluster: no peer counts on this node yet',
    );
    return;
  }
  throw new RaftNodeConfigError(
    `refusing to bootstrap a new cluster: ${knowing.peer} (log at index ${knowing.answer.lastIndex}, term ` +
      `${knowing.answer.term}) already counts on ${config.id}, bound to incarnation ` +
      `${knowing.answer.boundIncarnation}, so ${config.id} ran in this cluster before and its data folder ` +
      `${config.dataDir} is new. Start it with --initial-cluster-state existing; then, on the leader, ` +
      `POST /cluster/remove {"id":"${config.id}"}, POST /cluster/add-learner {"id":"${config.id}",` +
      `"peerAddress":"${config.peerAddress}"} and, once it caught up, POST /cluster/promote {"id":"${config.id}"}.`,
  );
}
