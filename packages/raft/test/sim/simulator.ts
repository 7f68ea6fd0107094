// The event loop, the SimHost side of the runtime and the liveness phase share one file (past
// 400 lines on purpose): they all read and write the same queue, clock and node table.
import type { Message, NodeId, RaftCore, RaftStatus, Role } from '../../src/core/index';
import { Mulberry32 } from '../../src/core/index';
import { checkElectionSafety } from '../support/checkers';
import type { DurableLogReader } from '../support/log-view';
import type { ProposalRecord } from '../support/safety-history';
import { SafetyHistory } from '../support/safety-history';
import { crashNode, readdLostMembers, runChaosAction } from './chaos';
import { proposeTracked, runClientAction } from './client';
import { describeMessage } from './describe-message';
import { EventQueue } from './event-queue';
import { Network, calmRates } from './network';
import type { FaultRates, SimOptions } from './sim-options';
import { drawFaultRates, validateSimOptions } from './sim-options';
import { SimNode, bootstrapStorage } from './sim-node';
import type { SimStats } from './sim-stats';
import { emptyStats } from './sim-stats';
import { TIME_UNITS_PER_TICK, Trace } from './trace';

/** SimEvent is one thing that happens at a simulated instant. */
export type SimEvent =
  | { readonly kind: 'tick'; readonly node: SimNode }
  | {
      readonly kind: 'deliver';
      readonly message: Message;
      readonly incarnation: number;
      /** forged: no correct peer sends this message; it must be refused on sight (forged-messages.ts). */
      readonly forged?: true;
    }
  | { readonly kind: 'persist'; readonly node: SimNode; readonly incarnation: number }
  | { readonly kind: 'chaos' }
  | { readonly kind: 'client' }
  | { readonly kind: 'crash'; readonly node: SimNode }
  | { readonly kind: 'restart'; readonly node: SimNode }
  | { readonly kind: 'healAll' }
  | { readonly kind: 'healOneWay'; readonly from: NodeId; readonly to: NodeId }
  | {
      readonly kind: 'unreachable';
      readonly node: SimNode;
      readonly incarnation: number;
      readonly leader: NodeId;
    }
  | {
      readonly kind: 'reportUnreachable';
      readonly node: SimNode;
      readonly incarnation: number;
      readonly peer: NodeId;
    }
  | { readonly kind: 'liveness' };

/** SimResult is what a schedule that passed every check reports. */
export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly stats: SimStats;
  /** trace holds every trace line when the options asked to capture it. */
  readonly trace: readonly string[] | undefined;
}

/**
 * SimulationFailure is thrown when a schedule breaks an invariant, a liveness bound, or makes
 * the core throw. Its message holds the seed, the node count, how to replay it and the trace tail.
 */
export class SimulationFailure extends Error {
  override readonly name = 'SimulationFailure';

  constructor(
    readonly seed: number,
    readonly nodes: number,
    readonly reason: string,
    readonly traceTail: readonly string[],
    options?: ErrorOptions & { readonly diskLoss?: boolean },
  ) {
    super(
      [
        `simulation failed: seed ${seed}, ${nodes} nodes: ${reason}`,
        `replay: npm run sim -- --from ${seed} --seeds 1 --nodes ${nodes}${options?.diskLoss === true ? ' --disk-loss' : ''}`,
        `last ${traceTail.length} trace lines:`,
        ...traceTail,
      ].join('\n'),
      options,
    );
  }
}

/** PROBE_RETRY_TICKS is how long the liveness phase waits on a probe proposal before proposing another. */
const PROBE_RETRY_TICKS = 20;

/**
 * Simulation runs one seeded schedule of a Raft cluster on one thread: a priority queue of
 * events (node ticks with per-node phase offsets, message deliveries, write completions, faults,
 * client requests) in simulated time, every random choice drawn from one Mulberry32. After every
 * event the touched node is checked. A fault phase is followed by a liveness phase on a healed,
 * calm network with every node restarted, which must get a fresh proposal applied on every live
 * member within `livenessTicksMax`.
 */
export class Simulation {
  readonly rng: Mulberry32;
  readonly history: SafetyHistory;
  readonly network: Network;
  readonly trace: Trace;
  readonly stats = emptyStats();
  readonly faults: FaultRates;
  /** nodes lists every node ever created, in creation order (iteration order must be deterministic). */
  readonly nodes: SimNode[] = [];
  readonly byId = new Map<NodeId, SimNode>();
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly unreachableCampaignDelayTicksMax: number;
  readonly learnerCatchUpEntriesMax: number;
  readonly compactPerMille: number;
  readonly diskLoss: boolean;
  private readonly queue: EventQueue<SimEvent>;
  now = 0;
  phase: 'fault' | 'liveness' = 'fault';
  /** addedNodes counts learners added by the schedule. */
  addedNodes = 0;
  /** readding lists the members the schedule removed because they were bound to a lost disk, to add back. */
  readonly readding = new Set<NodeId>();
  /** sequence numbers name proposals and reads uniquely within the schedule. */
  proposalSeq = 0;
  readSeq = 0;
  private readonly probes: ProposalRecord[] = [];
  private lastProbeAt = -Infinity;
  private livenessStart = 0;

  /** constructor sets up the cluster of `options.nodes` voters; run() plays the schedule. */
  constructor(readonly options: SimOptions) {
    validateSimOptions(options);
    this.rng = new Mulberry32(options.seed);
    this.history = new SafetyHistory(options.nodes);
    this.faults = drawFaultRates(this.rng, options.nodes);
    this.network = new Network(this.rng, this.faults.network);
    this.trace = new Trace(options.traceLines, options.captureTrace);
    this.queue = new EventQueue<SimEvent>(1_000_000);
    this.electionTicks = options.electionTicks;
    this.heartbeatTicks = options.heartbeatTicks;
    this.unreachableCampaignDelayTicksMax = options.unreachableCampaignDelayTicksMax;
    this.compactPerMille = this.faults.compactPerMille;
    this.learnerCatchUpEntriesMax = this.faults.learnerCatchUpEntriesMax;
    this.diskLoss = options.diskLoss;
  }

  /** run plays the whole schedule; it throws SimulationFailure on any violation. */
  run(): SimResult {
    try {
      this.play();
    } catch (e: unknown) {
      const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const at = `at t=${(this.now / TIME_UNITS_PER_TICK).toFixed(1)} ticks (${this.phase} phase)`;
      throw new SimulationFailure(
        this.options.seed,
        this.options.nodes,
        `${at}: ${reason}`,
        this.trace.lastLines(),
        { cause: e, diskLoss: this.diskLoss },
      );
    }
    this.stats.leaderTerms = this.history.leaderOfTerm.size;
    this.stats.appliedMax = this.history.appliedMax;
    for (const p of this.history.proposals.values()) {
      if (p.outcome === 'committed') this.stats.proposalsCommitted++;
      else if (p.outcome === 'failed') this.stats.proposalsFailed++;
    }
    for (const n of this.nodes) {
      this.stats.snapshotsTaken += n.snapshotsTaken;
      this.stats.snapshotsInstalled += n.snapshotsInstalled;
      this.stats.readsServed += n.readsServed;
    }
    this.stats.messagesSent = this.network.sent;
    this.stats.messagesDropped = this.network.dropped;
    this.stats.messagesDuplicated = this.network.duplicated;
    this.stats.messagesHeld = this.network.held;
    return {
      seed: this.options.seed,
      nodes: this.options.nodes,
      stats: this.stats,
      trace: this.trace.allLines(),
    };
  }

  private play(): void {
    const voters: NodeId[] = [];
    for (let k = 1; k <= this.options.nodes; k++) voters.push(`n${k}`);
    for (const id of voters) this.addNode(id, bootstrapStorage(voters));
    this.schedule(this.gapUnits(this.faults.chaosGapTicksMax), { kind: 'chaos' });
    this.schedule(this.gapUnits(this.faults.clientGapTicksMax), { kind: 'client' });
    const faultEnd = this.options.faultTicks * TIME_UNITS_PER_TICK;
    this.queue.push(faultEnd, { kind: 'liveness' });
    for (let n = 0; n < this.options.eventsMax; n++) {
      const next = this.queue.pop();
      if (next === undefined) throw new Error('the event queue ran dry');
      this.now = next.time;
      this.stats.events++;
      if (this.phase === 'liveness') {
        const elapsed = this.now - this.livenessStart;
        if (elapsed > this.options.livenessTicksMax * TIME_UNITS_PER_TICK) {
          throw new Error(
            `liveness: no fresh proposal applied on every live member within ${this.options.livenessTicksMax} ticks of the heal (${this.describeCluster()})`,
          );
        }
      }
      this.handle(next.item);
      if (this.phase === 'liveness' && this.livenessReached()) {
        this.stats.livenessTicks = Math.ceil((this.now - this.livenessStart) / TIME_UNITS_PER_TICK);
        return;
      }
    }
    throw new Error(`more than ${this.options.eventsMax} events`);
  }

  /** addNode creates, starts and begins ticking a node over `storage`. */
  addNode(id: NodeId, storage: ReturnType<typeof bootstrapStorage>): SimNode {
    const node = new SimNode(id, storage, this);
    this.nodes.push(node);
    this.byId.set(id, node);
    node.start();
    node.tickPeriodUnits = TIME_UNITS_PER_TICK - 1 + this.rng.intBelow(3);
    // A per-node phase offset inside the tick keeps ticks of different nodes from coinciding.
    this.schedule(1 + this.rng.intBelow(TIME_UNITS_PER_TICK), { kind: 'tick', node });
    return node;
  }

  /** schedule queues `event` `delayUnits` from now. */
  schedule(delayUnits: number, event: SimEvent): void {
    this.queue.push(this.now + delayUnits, event);
  }

  /** gapUnits draws a gap of up to `ticksMax` ticks, at least one time unit. */
  gapUnits(ticksMax: number): number {
    return 1 + this.rng.intBelow(ticksMax * TIME_UNITS_PER_TICK);
  }

  /**
   * deferred puts an event for a paused node back in the queue for when it resumes, and tells
   * whether it did: a paused process handles nothing, but its sockets and disk keep their data.
   */
  private deferred(node: SimNode | undefined, ev: SimEvent): boolean {
    if (node === undefined || node.pausedUntil <= this.now) return false;
    this.queue.push(node.pausedUntil, ev);
    return true;
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        this.schedule(ev.node.tickPeriodUnits, ev);
        const core = ev.node.core;
        // A paused node's timer fires once it resumes; the ticks it missed are lost.
        if (core === undefined || ev.node.pausedUntil > this.now) return;
        core.tick();
        this.settle(ev.node);
        return;
      }
      case 'deliver': {
        const node = this.byId.get(ev.message.to);
        const core = node?.core;
        if (node === undefined || core === undefined || node.incarnation !== ev.incarnation) return;
        if (this.deferred(node, ev)) return;
        this.trace.add(this.now, node.id, ev.message);
        if (ev.forged === true) this.deliverForged(node, core, ev.message);
        else core.step(ev.message);
        this.settle(node);
        return;
      }
      case 'persist':
        if (!ev.node.alive || ev.node.incarnation !== ev.incarnation || this.deferred(ev.node, ev)) return;
        ev.node.completeWrite();
        this.settle(ev.node);
        return;
      case 'chaos':
        if (this.phase !== 'fault') return;
        runChaosAction(this);
        this.schedule(this.gapUnits(this.faults.chaosGapTicksMax), ev);
        return;
      case 'client':
        if (this.phase === 'fault') {
          runClientAction(this);
          this.schedule(this.gapUnits(this.faults.clientGapTicksMax), ev);
        } else {
          if (this.diskLoss) readdLostMembers(this);
          this.probe();
          this.schedule(TIME_UNITS_PER_TICK, ev);
        }
        return;
      case 'crash':
        if (this.phase === 'fault') crashNode(this, ev.node, 0, 10);
        return;
      case 'restart':
        this.restart(ev.node);
        return;
      case 'healAll':
        if (this.network.cutCount > 0) this.note('-', 'network healed');
        this.network.healAll();
        return;
      case 'healOneWay':
        this.network.healOneWay(ev.from, ev.to);
        return;
      case 'unreachable': {
        const core = ev.node.core;
        if (core === undefined || ev.node.incarnation !== ev.incarnation || this.deferred(ev.node, ev))
          return;
        this.note(ev.node.id, `leaderUnreachable(${ev.leader})`);
        core.leaderUnreachable(ev.leader);
        this.settle(ev.node);
        return;
      }
      case 'reportUnreachable': {
        const core = ev.node.core;
        if (core === undefined || ev.node.incarnation !== ev.incarnation || this.deferred(ev.node, ev))
          return;
        core.reportUnreachable(ev.peer);
        this.settle(ev.node);
        return;
      }
      case 'liveness':
        this.enterLiveness();
        return;
    }
  }

  /** settle takes the node's Readys and checks election safety on its new state. */
  settle(node: SimNode): void {
    node.drive();
    const core = node.core;
    if (core === undefined) return;
    const status = core.status();
    checkElectionSafety(this.history, node.id, status.term, status.role);
  }

  /**
   * deliverForged steps a forged message into `core` and fails the schedule unless the core
   * refuses it on sight and nothing it reports changes: term, vote, leader, role, commit, log.
   */
  private deliverForged(node: SimNode, core: RaftCore, message: Message): void {
    const before = summary(core.status());
    const refused = core.step(message);
    if (refused === undefined) {
      throw new Error(`${node.id} took a forged message instead of refusing it: ${describeMessage(message)}`);
    }
    const after = summary(core.status());
    if (after !== before) {
      throw new Error(
        `${node.id} changed on a forged message it refused (${refused.reason}): ${before} -> ${after}`,
      );
    }
    this.stats.forgedRefused++;
  }

  /** restart starts a crashed node again from its storage. */
  restart(node: SimNode): void {
    if (node.alive) return;
    node.start();
    this.stats.restarts++;
    this.note(
      node.id,
      `restarted (incarnation ${node.incarnation}, snapshot ${node.storage.snapshot().meta.index}, log to ${node.storage.lastIndex()})`,
    );
    this.settle(node);
  }

  /** note records a line of text in the trace. */
  note(node: NodeId, what: string): void {
    this.trace.add(this.now, node, what);
  }

  // ─────────────────────────────── SimHost ───────────────────────────────

  /** send hands a message to the network and queues its deliveries; a lost append may be reported unreachable. */
  send(message: Message): void {
    const delays = this.network.fate(message);
    const receiver = this.byId.get(message.to);
    const incarnation = receiver?.incarnation ?? 0;
    for (const d of delays) this.schedule(d, { kind: 'deliver', message, incarnation });
    const sender = this.byId.get(message.from);
    const granted = (message.type === 'voteResponse' || message.type === 'appendResponse') && !message.reject;
    if (granted && sender !== undefined && this.rng.intBelow(1000) < this.faults.crashAfterAckPerMille) {
      // Crash right after a promise (a vote, an append acknowledgement) left: what was promised
      // must have been durable before the message went out.
      this.schedule(this.rng.intBelow(6), { kind: 'crash', node: sender });
    }
    const lost = this.network.isCut(message.from, message.to) || receiver?.alive !== true;
    if (lost && sender !== undefined && (message.type === 'append' || message.type === 'snapshot')) {
      // A transport sees the connection fail and tells the leader, which goes back to probing.
      this.schedule(1 + this.rng.intBelow(5), {
        kind: 'reportUnreachable',
        node: sender,
        incarnation: sender.incarnation,
        peer: message.to,
      });
    }
  }

  persistDelayUnits(): number {
    if (this.rng.intBelow(1000) < this.faults.slowPersistPerMille) {
      return 3 * TIME_UNITS_PER_TICK + this.rng.intBelow(5 * TIME_UNITS_PER_TICK + 1);
    }
    return this.rng.intBelow(16);
  }

  schedulePersist(node: SimNode, incarnation: number, delayUnits: number): void {
    this.schedule(delayUnits, { kind: 'persist', node, incarnation });
  }

  /** durableLogs lists every disk, lost ones too: what a lost disk held was durable when it was counted. */
  durableLogs(): Iterable<readonly [NodeId, DurableLogReader]> {
    return this.nodes.flatMap((n) => [
      [n.id, n.storage] as const,
      ...n.lostDisks.map((d, i) => [`${n.id}(lost disk ${i})`, d] as const),
    ]);
  }

  onRoleChange(node: SimNode, role: Role, leader: NodeId): void {
    const term = node.core?.status().term ?? 0;
    this.note(node.id, `now ${role} at term ${term}, leader ${leader || 'none'}`);
  }

  // ─────────────────────────────── queries ───────────────────────────────

  /** leaders returns the live, unpaused nodes whose core is leader, with their status, highest term first. */
  leaders(): { node: SimNode; core: RaftCore; status: RaftStatus }[] {
    const out: { node: SimNode; core: RaftCore; status: RaftStatus }[] = [];
    for (const node of this.nodes) {
      const core = node.core;
      if (core === undefined || node.pausedUntil > this.now) continue;
      const status = core.status();
      if (status.role === 'leader') out.push({ node, core, status });
    }
    return out.sort((a, b) => b.status.term - a.status.term);
  }

  /** aliveNodes returns the running, unpaused nodes, in creation order. */
  aliveNodes(): SimNode[] {
    return this.nodes.filter((n) => n.alive && n.pausedUntil <= this.now);
  }

  private describeCluster(): string {
    return this.nodes
      .map((n) => {
        const s = n.core?.status();
        if (s === undefined) return `${n.id} down`;
        return `${n.id} ${s.role} t${s.term} vote ${s.vote || '-'} commit ${s.commit} applied ${n.kv.appliedIndex} last ${s.lastIndex}@${String(n.view.term(s.lastIndex))} voters [${s.membership.voters.join(',')}] learners [${s.membership.learners.join(',')}]`;
      })
      .join('; ');
  }

  // ─────────────────────────────── liveness ───────────────────────────────

  private enterLiveness(): void {
    this.phase = 'liveness';
    this.livenessStart = this.now;
    this.network.healAll();
    this.network.setRates(calmRates(this.network.rates));
    this.note('-', 'liveness phase: network healed and calm, every node restarted or resumed');
    for (const node of this.nodes) {
      node.pausedUntil = 0;
      this.restart(node);
    }
  }

  /** probe proposes a fresh entry on the current leader, unless one committed or a recent one is still pending. */
  private probe(): void {
    // Once a probe committed, the goal is fixed: that probe applied everywhere (no moving target).
    if (this.probes.some((p) => p.outcome === 'committed')) return;
    const pending = this.probes.some((p) => p.outcome === 'pending');
    if (pending && this.now - this.lastProbeAt < PROBE_RETRY_TICKS * TIME_UNITS_PER_TICK) return;
    const leader = this.leaders()[0];
    if (leader === undefined) return;
    const record = runProbe(this, leader.node, leader.core);
    if (record !== undefined) {
      this.probes.push(record);
      this.lastProbeAt = this.now;
    }
    this.settle(leader.node);
  }

  private livenessReached(): boolean {
    const probe = this.probes.find((p) => p.outcome === 'committed');
    if (probe === undefined) return false;
    const leader = this.leaders()[0];
    if (leader === undefined) return false;
    const m = leader.status.membership;
    for (const id of [...m.voters, ...m.learners]) {
      const node = this.byId.get(id);
      if (node?.alive !== true || node.kv.appliedIndex < probe.index) return false;
    }
    return true;
  }
}

/** summary is what a refused message must not change on a node. */
function summary(s: RaftStatus): string {
  return `${s.role} term ${s.term} vote ${s.vote || '-'} leader ${s.leader || '-'} commit ${s.commit} log ${s.firstIndex}..${s.lastIndex}`;
}

/** runProbe proposes one liveness probe on `node`'s core and records it; undefined when refused. */
function runProbe(sim: Simulation, node: SimNode, core: RaftCore): ProposalRecord | undefined {
  return proposeTracked(sim, node, core, `live${sim.proposalSeq++}`);
}

/** runSimulation plays one schedule with `options` and returns its result, or throws SimulationFailure. */
export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}
