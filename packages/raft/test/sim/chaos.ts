import type { ConfigChange, NodeId } from '../../src/core/index';
import { MemoryStorage, incarnationOf, isMember } from '../../src/core/index';
import { forgedMessages } from './forged-messages';
import type { SimNode } from './sim-node';
import type { Simulation } from './simulator';
import { TIME_UNITS_PER_TICK } from './trace';

/** VOTERS_MIN and VOTERS_MAX keep the simulated configuration within 3..7 voters. */
const VOTERS_MIN = 3;
const VOTERS_MAX = 7;

/** ChaosAction names each fault the schedule can inject. */
type ChaosAction =
  | 'crash'
  | 'pause'
  | 'partition'
  | 'oneWay'
  | 'heal'
  | 'spuriousUnreachable'
  | 'transfer'
  | 'configChange'
  | 'forgedMessages';

/** CHAOS_WEIGHTS is the relative frequency of each action. */
const CHAOS_WEIGHTS: readonly (readonly [ChaosAction, number])[] = [
  ['crash', 3],
  ['pause', 2],
  ['partition', 2],
  ['oneWay', 2],
  ['heal', 1],
  ['spuriousUnreachable', 3],
  ['transfer', 2],
  ['configChange', 3],
  ['forgedMessages', 2],
];
const CHAOS_WEIGHT_TOTAL = CHAOS_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);

/** DISK_LOSS_PER_MILLE is the share of fault actions that lose a disk, when SimOptions.diskLoss is on. */
const DISK_LOSS_PER_MILLE = 80;

function drawAction(sim: Simulation): ChaosAction | 'diskLoss' {
  // Drawn only with the fault on, so that schedules without it keep their exact random stream.
  if (sim.diskLoss && sim.rng.intBelow(1000) < DISK_LOSS_PER_MILLE) return 'diskLoss';
  let r = sim.rng.intBelow(CHAOS_WEIGHT_TOTAL);
  for (const [action, weight] of CHAOS_WEIGHTS) {
    if (r < weight) return action;
    r -= weight;
  }
  return 'heal';
}

function pickOne<T>(sim: Simulation, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[sim.rng.intBelow(items.length)];
}

/** ticks converts ticks to time units, plus a random fraction of a tick so events do not align. */
function ticks(sim: Simulation, min: number, max: number): number {
  return (
    (min + sim.rng.intBelow(max - min + 1)) * TIME_UNITS_PER_TICK + sim.rng.intBelow(TIME_UNITS_PER_TICK)
  );
}

/**
 * signalFollowersOf tells the live followers of `leader` that their connection to it failed, after
 * a short delay each, as a kernel reset would when the leader's process dies.
 */
function signalFollowersOf(sim: Simulation, leader: NodeId, only?: ReadonlySet<NodeId>): void {
  for (const node of sim.nodes) {
    if (node.id === leader || !node.alive || (only !== undefined && !only.has(node.id))) continue;
    if (node.core?.status().leader !== leader) continue;
    sim.stats.unreachableTrue++;
    sim.schedule(1 + sim.rng.intBelow(2 * TIME_UNITS_PER_TICK), {
      kind: 'unreachable',
      node,
      incarnation: node.incarnation,
      leader,
    });
  }
}

function crash(sim: Simulation): void {
  const victim = pickOne(sim, sim.aliveNodes());
  if (victim !== undefined) crashNode(sim, victim, 2, 40);
}

/**
 * crashNode crashes `victim` (unless crashedMax nodes are already down) and restarts it between
 * `downTicksMin` and `downTicksMax` ticks later. When the victim led, its followers get a true
 * leaderUnreachable signal shortly after.
 */
export function crashNode(
  sim: Simulation,
  victim: SimNode,
  downTicksMin: number,
  downTicksMax: number,
): void {
  const down = sim.nodes.filter((n) => !n.alive).length;
  if (down >= sim.faults.crashedMax || !victim.alive) return;
  const wasLeader = victim.core?.status().role === 'leader';
  victim.crash();
  sim.stats.crashes++;
  sim.note(victim.id, `crashed${wasLeader ? ' (was leader)' : ''}; unsynced writes lost`);
  if (wasLeader) signalFollowersOf(sim, victim.id);
  sim.schedule(ticks(sim, downTicksMin, downTicksMax), { kind: 'restart', node: victim });
}

/**
 * diskLoss crashes a live node and restarts it with an empty disk that joins (a new incarnation),
 * as after a lost data folder. Its old disk stays in the durability check: what it held was
 * durable when the cluster counted it. One lost member at a time, so that the schedule can always
 * add it back (two lost of three voters is lost quorum: an operator's restore, not Raft's job).
 */
function diskLoss(sim: Simulation): void {
  if (sim.readding.size > 0 || sim.nodes.some((n) => n.lostDisks.length > 0 && !recovered(n))) return;
  const down = sim.nodes.filter((n) => !n.alive).length;
  const victim = pickOne(sim, sim.aliveNodes());
  if (victim === undefined || down >= sim.faults.crashedMax) return;
  const wasLeader = victim.core?.status().role === 'leader';
  victim.crash();
  victim.loseDisk();
  sim.stats.crashes++;
  sim.stats.disksLost++;
  sim.note(
    victim.id,
    `crashed and lost its disk${wasLeader ? ' (was leader)' : ''}; restarts as ${victim.diskIncarnation}`,
  );
  if (wasLeader) signalFollowersOf(sim, victim.id);
  sim.schedule(ticks(sim, 2, 40), { kind: 'restart', node: victim });
}

/**
 * recovered: `node`, which lost a disk, knows itself bound to its new one, so it holds every entry
 * up to that binding and counts again. Until then another lost disk could be a lost quorum.
 */
function recovered(node: SimNode): boolean {
  const membership = node.core?.status().membership;
  return membership !== undefined && incarnationOf(membership, node.id) === node.diskIncarnation;
}

/**
 * readdLostMembers does what an operator does for a member whose data folder was lost: on the
 * newest leader, remove it while the configuration binds it to a lost disk, then add it back as a
 * learner and promote it once it caught up (the core binds it to its new disk then). One change
 * per call; a refused one is tried again at the next call.
 */
export function readdLostMembers(sim: Simulation): void {
  const leader = sim.leaders()[0];
  if (leader === undefined) return;
  const m = leader.status.membership;
  for (const node of sim.nodes) {
    const boundTo = incarnationOf(m, node.id);
    let change: ConfigChange | undefined;
    if (boundTo !== undefined && boundTo !== node.diskIncarnation) {
      change = { type: 'remove', node: node.id };
    } else if (!sim.readding.has(node.id)) {
      continue;
    } else if (!isMember(m, node.id)) {
      change = { type: 'addLearner', node: node.id };
    } else if (m.learners.includes(node.id)) {
      change = { type: 'promote', node: node.id };
    } else {
      sim.readding.delete(node.id);
      sim.stats.membersReadded++;
      sim.note(node.id, `added back as a voter bound to ${String(boundTo)}`);
      continue;
    }
    const result = leader.core.proposeConfigChange(change);
    sim.note(
      leader.node.id,
      `re-adding ${node.id}: ${change.type} ${result.ok ? `accepted at ${result.index}@${result.term}` : result.code}`,
    );
    if (result.ok && change.type === 'remove') sim.readding.add(node.id);
    sim.settle(leader.node);
    return;
  }
}

/**
 * pause freezes a live node for 1 to 30 ticks, as a long GC pause or a stopped VM would: it keeps
 * its state, and what arrives meanwhile waits. A leader paused past the election timeout wakes up
 * deposed without knowing it, the classic stale-leader setting for reads and proposals.
 */
function pause(sim: Simulation): void {
  const victim = pickOne(sim, sim.aliveNodes());
  if (victim === undefined) return;
  victim.pausedUntil = sim.now + ticks(sim, 1, 30);
  sim.stats.pauses++;
  sim.note(victim.id, `paused until ${(victim.pausedUntil / TIME_UNITS_PER_TICK).toFixed(1)}`);
}

function partition(sim: Simulation): void {
  const ids = sim.nodes.map((n) => n.id);
  // A Fisher–Yates shuffle with the shared PRNG, then the first 1..⌊n/2⌋ ids form the cut-off side.
  for (let i = ids.length - 1; i > 0; i--) {
    const j = sim.rng.intBelow(i + 1);
    const t = ids[i]!;
    ids[i] = ids[j]!;
    ids[j] = t;
  }
  const sideSize = 1 + sim.rng.intBelow(Math.max(1, Math.floor(ids.length / 2)));
  const side = ids.slice(0, sideSize);
  const rest = ids.slice(sideSize);
  sim.network.partition(side, rest);
  sim.stats.partitions++;
  sim.note('-', `partition [${side.join(',')}] | [${rest.join(',')}]`);
  // Half the time the transport notices: followers cut off from their leader get the signal.
  if (sim.rng.intBelow(2) === 0) {
    const leader = sim.leaders()[0];
    if (leader !== undefined) {
      const other = new Set(side.includes(leader.node.id) ? rest : side);
      signalFollowersOf(sim, leader.node.id, other);
    }
  }
  sim.schedule(ticks(sim, 3, 50), { kind: 'healAll' });
}

function oneWay(sim: Simulation): void {
  const from = pickOne(sim, sim.nodes);
  const to = pickOne(sim, sim.nodes);
  if (from === undefined || to === undefined || from === to) return;
  sim.network.cutOneWay(from.id, to.id);
  sim.stats.oneWayCuts++;
  sim.note('-', `one-way cut ${from.id} -> ${to.id}`);
  sim.schedule(ticks(sim, 3, 50), { kind: 'healOneWay', from: from.id, to: to.id });
}

/**
 * spuriousUnreachable tells a random live node that a leader is unreachable when it is not: its
 * current leader (healthy), a leader of an old term, or any node. One time in four it instead
 * tells a leader that a follower is unreachable.
 */
function spuriousUnreachable(sim: Simulation): void {
  if (sim.rng.intBelow(4) === 0) {
    // A leader's transport may also report a healthy follower unreachable.
    const leader = pickOne(sim, sim.leaders());
    const peer = pickOne(sim, sim.nodes);
    if (leader === undefined || peer === undefined) return;
    sim.stats.unreachableSpurious++;
    sim.note(leader.node.id, `spurious reportUnreachable(${peer.id})`);
    leader.core.reportUnreachable(peer.id);
    sim.settle(leader.node);
    return;
  }
  const target = pickOne(sim, sim.aliveNodes());
  const core = target?.core;
  if (target === undefined || core === undefined) return;
  const current = core.status().leader;
  const oldLeaders = [...sim.history.leaderOfTerm.values()];
  const choice = sim.rng.intBelow(3);
  let named: NodeId | undefined;
  if (choice === 0 && current !== '') named = current;
  else if (choice === 1) named = pickOne(sim, oldLeaders);
  else named = pickOne(sim, sim.nodes)?.id;
  if (named === undefined) return;
  sim.stats.unreachableSpurious++;
  sim.note(target.id, `spurious leaderUnreachable(${named})`);
  core.leaderUnreachable(named);
  sim.settle(target);
}

function transfer(sim: Simulation): void {
  const leader = pickOne(sim, sim.leaders());
  if (leader === undefined) return;
  // Mostly a voter of its configuration; sometimes anyone, so that refusals are exercised.
  const voters = leader.status.membership.voters.filter((v) => v !== leader.node.id);
  const to = sim.rng.intBelow(5) === 0 ? pickOne(sim, sim.nodes)?.id : pickOne(sim, voters);
  if (to === undefined) return;
  const result = leader.core.transferLeadership(to);
  if (result.ok) sim.stats.transfersAccepted++;
  else sim.stats.transfersRefused++;
  sim.note(leader.node.id, `transfer to ${to}: ${result.ok ? 'accepted' : result.code}`);
  sim.settle(leader.node);
}

function configChange(sim: Simulation): void {
  const leader = pickOne(sim, sim.leaders());
  if (leader === undefined) return;
  const m = leader.status.membership;
  const options: ConfigChange[] = [];
  const newId = `n${sim.options.nodes + sim.addedNodes + 1}`;
  if (sim.addedNodes < sim.options.addedNodesMax) options.push({ type: 'addLearner', node: newId });
  if (m.voters.length < VOTERS_MAX) for (const l of m.learners) options.push({ type: 'promote', node: l });
  for (const l of m.learners) options.push({ type: 'remove', node: l });
  if (m.voters.length > VOTERS_MIN) for (const v of m.voters) options.push({ type: 'remove', node: v });
  // Now and then an illegal change, which the core must refuse.
  const illegal = pickOne(sim, m.voters);
  if (illegal !== undefined) options.push({ type: 'promote', node: illegal });
  const change = pickOne(sim, options);
  if (change === undefined) return;
  const result = leader.core.proposeConfigChange(change);
  sim.note(
    leader.node.id,
    `config ${change.type} ${change.node}: ${result.ok ? `accepted at ${result.index}@${result.term}` : result.code}`,
  );
  if (!result.ok) {
    sim.stats.configChangesRefused++;
  } else {
    sim.stats.configChangesAccepted++;
    if (change.type === 'addLearner') {
      sim.addedNodes++;
      // A node added later starts empty and learns everything, configuration included, from the leader.
      addEmptyNode(sim, change.node);
    }
  }
  sim.settle(leader.node);
}

function addEmptyNode(sim: Simulation, id: NodeId): SimNode {
  return sim.addNode(id, MemoryStorage.bootstrap({ voters: [], learners: [] }));
}

/** runChaosAction injects one fault drawn from CHAOS_WEIGHTS. */
export function runChaosAction(sim: Simulation): void {
  if (sim.diskLoss) readdLostMembers(sim);
  switch (drawAction(sim)) {
    case 'crash':
      crash(sim);
      return;
    case 'pause':
      pause(sim);
      return;
    case 'partition':
      partition(sim);
      return;
    case 'oneWay':
      oneWay(sim);
      return;
    case 'heal':
      sim.schedule(0, { kind: 'healAll' });
      return;
    case 'spuriousUnreachable':
      spuriousUnreachable(sim);
      return;
    case 'transfer':
      transfer(sim);
      return;
    case 'configChange':
      configChange(sim);
      return;
    case 'diskLoss':
      diskLoss(sim);
      return;
    case 'forgedMessages': {
      const target = pickOne(sim, sim.aliveNodes());
      if (target !== undefined) forgedMessages(sim, target);
      return;
    }
  }
}
