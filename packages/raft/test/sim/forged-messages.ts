import type { Message, NodeId } from '../../src/core/index';
import { INDEX_MAX, TERM_JUMP_MAX, TERM_MAX } from '../../src/core/index';
import type { SimNode } from './sim-node';
import type { Simulation } from './simulator';
import { TIME_UNITS_PER_TICK } from './trace';

/** FORGER is the sender id of forged messages from outside every configuration (the sim names members n1, n2, …). */
export const FORGER = 'x9';

/** LARGEST_EXACT is 2^53 − 1, the term of the heartbeat in issue 22. */
const LARGEST_EXACT = Number.MAX_SAFE_INTEGER;

/** FORGED_PER_ACTION_MAX bounds the messages one forgedMessages action injects. */
const FORGED_PER_ACTION_MAX = 4;

/** absurdTerm draws a term no correct peer sends: 2^53 − 1, just above TERM_MAX, or too far above `ours`. */
function absurdTerm(sim: Simulation, ours: number): number {
  switch (sim.rng.intBelow(3)) {
    case 0:
      return LARGEST_EXACT;
    case 1:
      return TERM_MAX + 1 + sim.rng.intBelow(1000);
    default:
      // Far enough past the bound that the node's own elections before delivery cannot close the gap.
      return ours + TERM_JUMP_MAX + 1000 + sim.rng.intBelow(1000);
  }
}

/** absurdIndex draws an index above INDEX_MAX. */
function absurdIndex(sim: Simulation): number {
  return sim.rng.intBelow(2) === 0 ? LARGEST_EXACT : INDEX_MAX + 1 + sim.rng.intBelow(1000);
}

/**
 * forgeMessage builds one well-formed message that no correct peer sends to `to`, whose term is
 * `ours`: either an absurd term (with ordinary indexes), or this node's own term with an absurd
 * index or commit, so that only the index bound can refuse it.
 */
function forgeMessage(sim: Simulation, from: NodeId, to: NodeId, ours: number): Message {
  const absurdIndexOnly = sim.rng.intBelow(3) === 0;
  const term = absurdIndexOnly ? Math.max(ours, 1) : absurdTerm(sim, ours);
  const index = (): number => (absurdIndexOnly ? absurdIndex(sim) : 1 + sim.rng.intBelow(50));
  const base = { from, to, term };
  switch (sim.rng.intBelow(7)) {
    case 0:
      return { ...base, type: 'heartbeat', commit: index(), readSeq: 0 };
    case 1:
      return {
        ...base,
        type: 'append',
        prevLogIndex: index(),
        prevLogTerm: 1,
        entries: [],
        commit: index(),
      };
    case 2:
      return {
        ...base,
        type: sim.rng.intBelow(2) === 0 ? 'vote' : 'preVote',
        lastLogIndex: index(),
        lastLogTerm: 1,
        reason: (['election', 'leaderUnreachable', 'transfer'] as const)[sim.rng.intBelow(3)]!,
      };
    case 3:
      return { ...base, type: 'appendResponse', reject: false, index: index(), hintIndex: 0, hintTerm: 0 };
    case 4:
      return { ...base, type: 'heartbeatResponse', readSeq: index() };
    case 5:
      return {
        ...base,
        type: 'snapshot',
        snapshot: {
          meta: { index: index(), term: 1, membership: { voters: [from, to], learners: [] } },
          data: new Uint8Array(0),
        },
      };
    default:
      // TimeoutNow has no index: its term is always the absurd part.
      return { ...base, type: 'timeoutNow', term: absurdTerm(sim, ours) };
  }
}

/**
 * forgedMessages sends a live node one to FORGED_PER_ACTION_MAX messages no correct peer sends
 * (issue 22): a term of 2^53 − 1, just above TERM_MAX or more than TERM_JUMP_MAX above the node's,
 * or an index or commit above INDEX_MAX; half the time from another member, half the time from
 * FORGER, outside every configuration. They arrive 0–3 ticks later, past the network's faults;
 * the simulator checks on delivery that each is refused and changes nothing (deliverForged).
 */
export function forgedMessages(sim: Simulation, target: SimNode): void {
  const core = target.core;
  if (core === undefined) return;
  const members = sim.nodes.filter((n) => n.id !== target.id).map((n) => n.id);
  const count = 1 + sim.rng.intBelow(FORGED_PER_ACTION_MAX);
  for (let k = 0; k < count; k++) {
    const fromMember = members.length > 0 && sim.rng.intBelow(2) === 0;
    const from = fromMember ? members[sim.rng.intBelow(members.length)]! : FORGER;
    const message = forgeMessage(sim, from, target.id, core.status().term);
    sim.stats.forgedSent++;
    sim.schedule(sim.rng.intBelow(3 * TIME_UNITS_PER_TICK + 1), {
      kind: 'deliver',
      message,
      incarnation: target.incarnation,
      forged: true,
    });
  }
  sim.note(target.id, `${count} forged messages on their way`);
}
