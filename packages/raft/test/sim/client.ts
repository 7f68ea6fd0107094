import type { RaftCore } from '../../src/core/index';
import { checkProposalAccepted, checkReadIssued } from '../support/checkers';
import { entryDigest } from '../support/entry-digest';
import { encodeSet } from '../support/kv-state-machine';
import type { ProposalRecord } from '../support/safety-history';
import type { SimNode } from './sim-node';
import type { Simulation } from './simulator';

/** CLIENT_KEYS is how many distinct keys client writes spread over. */
const CLIENT_KEYS = 16;

/**
 * proposeTracked proposes `set k<r> <id>` on `node` and, when the core accepts it, records the
 * (index, term) it was given so the checkers can settle it when that index applies.
 */
export function proposeTracked(
  sim: Simulation,
  node: SimNode,
  core: RaftCore,
  id: string,
): ProposalRecord | undefined {
  const data = encodeSet(`k${sim.rng.intBelow(CLIENT_KEYS)}`, id);
  const result = core.propose(data);
  if (!result.ok) {
    sim.stats.proposalsRefused++;
    sim.note(node.id, `proposal ${id} refused: ${result.code}`);
    return undefined;
  }
  sim.stats.proposalsAccepted++;
  const record: ProposalRecord = {
    id,
    node: node.id,
    index: result.index,
    term: result.term,
    digest: entryDigest({ kind: 'command', index: result.index, term: result.term, data }),
    outcome: 'pending',
  };
  checkProposalAccepted(sim.history, record);
  sim.note(node.id, `proposal ${id} accepted at ${result.index}@${result.term}`);
  return record;
}

/** pickTarget picks where a client sends a request: usually a node that believes it leads, else any live node. */
function pickTarget(sim: Simulation): { node: SimNode; core: RaftCore } | undefined {
  const leaders = sim.leaders();
  if (leaders.length > 0 && sim.rng.intBelow(10) < 8) {
    const l = leaders[sim.rng.intBelow(leaders.length)]!;
    return { node: l.node, core: l.core };
  }
  const alive = sim.aliveNodes();
  const node = alive[sim.rng.intBelow(alive.length)];
  const core = node?.core;
  return node === undefined || core === undefined ? undefined : { node, core };
}

/**
 * runClientAction sends one client request during the fault phase: a proposal (two times in
 * three) or a ReadIndex request, to a node that believes it leads (four times in five) or to any
 * live node (to exercise refusals).
 */
export function runClientAction(sim: Simulation): void {
  const target = pickTarget(sim);
  if (target === undefined) return;
  const { node, core } = target;
  if (sim.rng.intBelow(3) < 2) {
    proposeTracked(sim, node, core, `p${sim.proposalSeq++}`);
  } else {
    const requestId = `r${sim.readSeq++}`;
    const result = core.readIndex(requestId);
    if (result.ok) {
      sim.stats.readsAccepted++;
      checkReadIssued(sim.history, node.id, requestId);
      sim.note(node.id, `read ${requestId} issued (applied anywhere: ${sim.history.appliedMax})`);
    } else {
      sim.stats.readsRefused++;
    }
  }
  sim.settle(node);
}
