import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type {
  ConfigChange,
  Entry,
  Membership,
  Message,
  NodeId,
  Ready,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from '../core/index';
import {
  MESSAGE_REFUSAL_REASONS,
  Mulberry32,
  RAFT_CONFIG_DEFAULTS,
  RaftCore,
  assert,
  entrySizeBytes,
  isInvariantViolation,
} from '../core/index';
import type { MessageRefusal, MessageRefusalReason, RaftStatus, RaftRefusal } from '../core/index';
import { LevelStorage } from '../storage/index';
import type { PeerLinkStatus, TransportLogger, TransportStats } from '../transport/index';
import { PeerTransport, hopLedger } from '../transport/index';
import type { ProbeAnswer } from '../transport/index';
import type { RaftNodeConfig } from './node-config';
import { validateRaftNodeConfig } from './node-config';
import { refuseBootstrapOfKnownMember } from './bootstrap-refusal';
import { RaftNodeError } from './node-error';
import { applyInTurns } from './apply-turns';
import { encodeCapture } from './encode-capture';
import { installSnapshot } from './install-snapshot';
import { NodeHops } from './node-hops';
import { PendingProposals } from './pending-proposals';
import type { SnapshotCapture, StateMachine } from './state-machine';
import { CpuWaitReader } from './cpu-wait';
import type { EventLoopStall } from './stall-probe';
import { StallProbe } from './stall-probe';

interface PendingRead {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** index is set once leadership was confirmed: the read may be served when applied reaches it. */
  index?: number;
}

/** RaftNodeStatus is what /status shows of the Raft layer. */
export interface RaftNodeStatus extends RaftStatus {
  readonly peerAddress: string;
  readonly peers: Readonly<Record<NodeId, PeerLinkStatus>>;
  readonly transport: Readonly<TransportStats>;
  /** messagesRefused counts, per reason, the peer messages Raft refused on sight since start. */
  readonly messagesRefused: Readonly<Record<MessageRefusalReason, number>>;
  readonly snapshotIndex: number;
  /** logBytes is the entrySizeBytes total of the log this node holds (the tail before the snapshot included). */
  readonly logBytes: number;
  readonly proposalsPending: number;
  readonly fatalError: string | undefined;
  /** eventLoopStall is the longest the event loop held up this node's timers since start, and the latest stalls. */
  readonly eventLoopStall: EventLoopStall;
  /** lastCompaction describes the last snapshot this node took, if any since start. */
  readonly lastCompaction: CompactionReport | undefined;
  /**
   * electionStretchMs is electionStretchTicks in milliseconds: how much longer than its election
   * timeout this node waits for its leader, because that leader was lately slow but alive.
   */
  readonly electionStretchMs: number;
}

/**
 * CompactionReport describes one snapshot the node took: its index and size, how long it took
 * from capture to durable, how long the capture held the loop, and in how many slices it was
 * encoded (the longest slice is the longest the encoding held the event loop).
 */
export interface CompactionReport {
  readonly index: number;
  readonly bytes: number;
  readonly durationMs: number;
  readonly captureMs: number;
  readonly slices: number;
  readonly sliceMsMax: number;
}

/**
 * RaftNodeEvents are what a RaftNode emits: `leader` (leader id or '' and term) when the known
 * leader changes, `role`, `fatal` (the node stopped on an error it cannot survive), `peerLost`
 * (an established connection to or from that peer failed, as when its process stops), and
 * `persisted` timings for metrics.
 */
export interface RaftNodeEvents {
  leader: [leader: NodeId, term: number];
  role: [role: SoftState['role'], term: number];
  fatal: [error: Error];
  peerLost: [peer: NodeId];
  persisted: [entries: number, durationMs: number];
}

/**
 * hopCpu reads the event-loop thread's schedstat for the hop ledger's records: one per process
 * (the ledger is), opened when a node starts with the ledger on and kept for the process's life.
 */
let hopCpu: CpuWaitReader | undefined;

/**
 * RaftNode runs a RaftCore for real: it owns the timers, the LevelDB store and the gRPC peer
 * transport, and drives tick → ready → persist → send → apply → advance. The leader sends its
 * appends in parallel with its own fsync; everything else waits for durability. `propose`
 * resolves with the state machine's result once the entry is applied, and only for its own
 * entry: if another leader's entry lands at that index, it rejects with PROPOSAL_DROPPED.
 */
export class RaftNode<Result = unknown> extends EventEmitter<RaftNodeEvents> {
  private readonly core: RaftCore;
  private readonly proposals = new PendingProposals<Result>((timeoutMs) =>
    this.deadlineError('proposal', timeoutMs),
  );
  private readonly reads = new Map<string, PendingRead>();
  private readSeq = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private readonly stallProbe: StallProbe;
  /** cpuWait reads how long the event loop's thread waited for a CPU (the stall probe's share of the host's). */
  private readonly cpuWait = new CpuWaitReader();
  /** compaction is the snapshot being encoded and written beside the loop (one at a time). */
  private compaction: Promise<void> | undefined;
  private lastCompaction: CompactionReport | undefined;
  /** appliedBytes is the entrySizeBytes total of the entries applied since start. */
  private appliedBytes = 0;
  /** snapshotAppliedBytes is appliedBytes when the last snapshot was captured or restored. */
  private snapshotAppliedBytes = 0;
  /** staleReported holds the `member incarnation` pairs already logged as stale (once each). */
  private readonly staleReported = new Set<string>();
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private stopping = false;
  private fatalError: Error | undefined;
  private appliedIndex: number;
  /** persisting is true while the loop waits on a Ready's write (entries committed meanwhile may be applied). */
  private persisting = false;
  /** applyingEarly guards applyEarlyCommitted against re-entry. */
  private applyingEarly = false;
  /** hops records this node's steps in the hop ledger (used only when it is enabled). */
  private readonly hops: NodeHops;
  private appliedMembership: Membership;
  private term = 0;
  private role: SoftState['role'] = 'follower';
  /**
   * lostLeader is the leader this follower follows whose connection the transport saw fail (its
   * process died), until a message from it arrives or another leader is known; '' when none.
   * While set, leaderId and status().leader name no leader, so writes wait here for the next
   * leader and clients are not sent to a dead one.
   */
  private lostLeader: NodeId = '';
  private leader: NodeId = '';
  private knownMembership: Membership | undefined;
  private readonly messagesRefused = Object.fromEntries(
    MESSAGE_REFUSAL_REASONS.map((reason) => [reason, 0]),
  ) as Record<MessageRefusalReason, number>;
  /** refusedPeers are the peers already logged for a refused message: one warning each, not one per message. */
  private readonly refusedPeers = new Set<NodeId>();

  private constructor(
    private readonly config: RaftNodeConfig,
    private readonly storage: LevelStorage,
    private readonly transport: PeerTransport,
    private readonly stateMachine: StateMachine<Result>,
    private readonly logger: TransportLogger,
  ) {
    super();
    this.stallProbe = new StallProbe(config.tickMs);
    this.hops = new NodeHops(config.id);
    const snapshot = storage.mirror.snapshot();
    if (snapshot.meta.index > 0) stateMachine.restore(snapshot.data);
    this.appliedIndex = snapshot.meta.index;
    this.appliedMembership = snapshot.meta.membership;
    this.core = new RaftCore({
      ...RAFT_CONFIG_DEFAULTS,
      id: config.id,
      storage: storage.mirror,
      rng: new Mulberry32(randomInt(2 ** 31)),
      electionTicks: config.electionTimeoutMs / config.tickMs,
      heartbeatTicks: config.heartbeatMs / config.tickMs,
      ...(config.electionStretchMsMax === undefined
        ? {}
        : { electionStretchTicksMax: Math.floor(config.electionStretchMsMax / config.tickMs) }),
      unreachableCampaignDelayTicksMax: Math.max(
        1,
        Math.floor(config.unreachableCampaignDelayMsMax / config.tickMs),
      ),
      uncommittedEntriesMax: config.proposalsPendingMax,
      readIndexQueueMax: config.readsPendingMax,
      applied: snapshot.meta.index,
      incarnation: storage.identity.incarnation,
      requireBinding: storage.identity.createdToJoin,
      logger: (line) => logger.debug({ node: config.id }, line),
    });
  }

  /**
   * start validates the config, opens the store, binds the peer port and starts the loop. It
   * rejects with a message that names the bad setting, the folder or the port.
   */
  static async start<R>(
    config: RaftNodeConfig,
    stateMachine: StateMachine<R>,
    logger: TransportLogger,
  ): Promise<RaftNode<R>> {
    validateRaftNodeConfig(config);
    if (config.hopLedger === true) {
      hopCpu ??= new CpuWaitReader();
      const reader = hopCpu;
      hopLedger.enable(() => reader.readBoth());
    }
    if (config.initialClusterState === 'new' && !LevelStorage.holdsStore(config.dataDir)) {
      await refuseBootstrapOfKnownMember(config, logger);
    }
    const storage = await LevelStorage.open(config.dataDir, {
      bootstrap: { voters: [...config.bootstrapVoters].sort(), learners: [] },
      initialClusterState: config.initialClusterState,
      clusterId: config.clusterId,
    });
    if (storage.created && storage.identity.createdToJoin) {
      logger.warn(
        { node: config.id, dataDir: config.dataDir, incarnation: storage.identity.incarnation },
        `${config.dataDir} held no Raft store, so this node starts empty (--initial-cluster-state existing) ` +
          `and waits to be added; it votes only once the cluster binds it. On the leader, run ` +
          `POST /cluster/add-learner {"id":"${config.id}","peerAddress":"<this node's peer address>"}, then ` +
          `POST /cluster/promote {"id":"${config.id}"} once it caught up. If ${config.id} is still a member ` +
          `(it lost its data folder), first POST /cluster/remove {"id":"${config.id}"}. To bootstrap a brand-new ` +
          `cluster instead, start every first node with --initial-cluster-state new.`,
      );
    }
    // The transport needs the handler before the node exists; the node fills this in.
    const self: { node?: RaftNode<R> } = {};
    let transport: PeerTransport;
    try {
      transport = await PeerTransport.start({
        id: config.id,
        listenAddress: config.peerAddress,
        peers: new Map(Object.entries(config.peers)),
        settings: config,
        logger,
        handler: {
          onMessage: (m) => self.node?.onMessage(m),
          onPeerLost: (peer) => self.node?.onPeerLost(peer),
          onUndeliverable: (peer) => self.node?.onUndeliverable(peer),
          onProbe: (peer) => self.node?.probeAnswer(peer) ?? { term: 0, lastIndex: 0, boundIncarnation: '' },
        },
      });
    } catch (e) {
      await storage.close();
      throw e;
    }
    const node = new RaftNode(config, storage, transport, stateMachine, logger);
    self.node = node;
    node.followMembership();
    node.begin();
    return node;
  }

  /** probeAnswer tells a peer about to bootstrap how far this log goes and how it binds that peer. */
  probeAnswer(peer: NodeId): ProbeAnswer {
    return {
      term: this.term,
      lastIndex: this.storage.mirror.lastIndex(),
      boundIncarnation: this.core.membership().incarnations?.[peer] ?? '',
    };
  }

  /** id is this node's id. */
  get id(): NodeId {
    return this.config.id;
  }

  /** clusterId is the cluster id this node's store belongs to (its identity, fixed at creation). */
  get clusterId(): string {
    return this.storage.identity.clusterId;
  }

  /** peerAddress is where this node listens for peers. */
  get peerAddress(): string {
    return this.transport.address;
  }

  /** isLeader is true while this node leads. */
  get isLeader(): boolean {
    return this.role === 'leader';
  }

  /**
   * eventLoopLateMs is how late this node's tick timer runs now: a tick still overdue, or the
   * latest one's delay (0 on time): how long a message arriving now may wait before it is read.
   */
  eventLoopLateMs(): number {
    return this.stallProbe.lateNowMs(performance.now());
  }

  /**
   * leaderId is the leader this node knows of ('' when none, or when the transport saw that
   * leader's connection fail and it has not been heard from since).
   */
  get leaderId(): NodeId {
    return this.leader === this.lostLeader ? '' : this.leader;
  }

  /** currentTerm is this node's Raft term. */
  get currentTerm(): number {
    return this.term;
  }

  /** membership is the configuration in effect (the latest in the log, committed or not). */
  get membership(): Membership {
    return this.core.membership();
  }

  /** applied is the index of the last entry applied to the state machine. */
  get applied(): number {
    return this.appliedIndex;
  }

  /**
   * propose replicates `command` and resolves with the state machine's result once it is
   * applied. It rejects with NOT_LEADER (with the leader hint), BACKPRESSURE, PROPOSAL_DROPPED
   * (another leader's entry took its index: it was not applied), NO_QUORUM or DEADLINE_EXCEEDED
   * (the outcome is unknown: it may still commit), or STOPPED.
   */
  propose(command: Uint8Array, timeoutMs = this.config.proposalTimeoutMs): Promise<Result> {
    const refusal = this.refuseRequest();
    if (refusal !== undefined) return Promise.reject(refusal);
    if (command.byteLength > this.config.entryBytesMax) {
      return Promise.reject(
        new RaftNodeError(
          'BACKPRESSURE',
          `command of ${command.byteLength} bytes exceeds entryBytesMax ${this.config.entryBytesMax}`,
        ),
      );
    }
    if (this.proposals.size >= this.config.proposalsPendingMax) {
      return Promise.reject(
        new RaftNodeError(
          'BACKPRESSURE',
          `${this.proposals.size} proposals are pending; retry later`,
          this.leader,
        ),
      );
    }
    const proposed = this.core.propose(command);
    if (hopLedger.enabled && proposed.ok) {
      hopLedger.record('propose', this.config.id, proposed.index, proposed.term);
    }
    return this.track(proposed, timeoutMs);
  }

  /** proposeConfigChange replicates one membership change; it resolves once the change is applied. */
  proposeConfigChange(change: ConfigChange, timeoutMs = this.config.proposalTimeoutMs): Promise<void> {
    const refusal = this.refuseRequest();
    if (refusal !== undefined) return Promise.reject(refusal);
    return this.track(this.core.proposeConfigChange(change), timeoutMs).then(() => undefined);
  }

  /**
   * readBarrier resolves once a linearizable read may be served from the local state machine:
   * leadership was confirmed by a quorum after the call, and everything committed before it is
   * applied (ReadIndex, §6.4). Only the leader serves it; others reject with NOT_LEADER.
   */
  readBarrier(timeoutMs = this.config.proposalTimeoutMs): Promise<void> {
    const refusal = this.refuseRequest();
    if (refusal !== undefined) return Promise.reject(refusal);
    if (this.reads.size >= this.config.readsPendingMax) {
      return Promise.reject(
        new RaftNodeError('BACKPRESSURE', `${this.reads.size} reads are pending; retry later`),
      );
    }
    const requestId = `r${++this.readSeq}`;
    const accepted = this.core.readIndex(requestId);
    if (!accepted.ok) return Promise.reject(fromRefusal(accepted));
    this.wake();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reads.delete(requestId);
        reject(this.deadlineError('read', timeoutMs));
      }, timeoutMs);
      this.reads.set(requestId, { resolve, reject, timer });
    });
  }

  /**
   * backup takes a consistent snapshot for a backup (`omnirelay snapshot save`): after a read
   * barrier (so only the leader serves it, NOT_LEADER elsewhere, and it holds every write
   * acknowledged before the call), the state machine as of the applied index, with that index's
   * term and the membership applied there, encoded a slice per event-loop turn like a compaction.
   * Incarnations are left out: a restore binds its members afresh.
   */
  async backup(timeoutMs = this.config.proposalTimeoutMs): Promise<Snapshot> {
    await this.readBarrier(timeoutMs);
    const index = this.appliedIndex;
    const term = this.storage.mirror.term(index);
    assert(term !== undefined, () => `backup: no term for the applied index ${index}`);
    const { voters, learners, addresses, clientAddresses, grpcAddresses } = this.appliedMembership;
    const meta: SnapshotMeta = {
      index,
      term,
      membership: {
        voters,
        learners,
        ...(addresses === undefined ? {} : { addresses }),
        ...(clientAddresses === undefined ? {} : { clientAddresses }),
        ...(grpcAddresses === undefined ? {} : { grpcAddresses }),
      },
    };
    const capture = this.stateMachine.captureSnapshot();
    try {
      const encoded = await encodeCapture(capture, () => this.stopping);
      if (encoded === undefined) throw this.refuseRequest() ?? new RaftNodeError('STOPPED', 'node stopped');
      return { meta, data: encoded.data };
    } finally {
      capture.release();
    }
  }

  /** transferLeadership asks this leader to hand over to `to` (resolves once accepted, not once done). */
  transferLeadership(to: NodeId): void {
    const refusal = this.refuseRequest();
    if (refusal !== undefined) throw refusal;
    if (hopLedger.enabled) hopLedger.record('transfer.request', this.config.id, 0, this.term, to);
    const accepted = this.core.transferLeadership(to);
    if (!accepted.ok) throw fromRefusal(accepted);
    this.wake();
  }

  /** campaign starts an election on this node now (operator tool). */
  campaign(): void {
    this.core.campaign();
    this.wake();
  }

  /** status describes the node for /status. */
  status(): RaftNodeStatus {
    const core = this.core.status();
    return {
      ...core,
      leader: this.leaderId,
      peerAddress: this.transport.address,
      peers: this.transport.peerStatus(),
      transport: this.transport.stats(),
      messagesRefused: { ...this.messagesRefused },
      snapshotIndex: this.storage.mirror.snapshot().meta.index,
      logBytes: this.storage.mirror.bytes(),
      proposalsPending: this.proposals.size,
      fatalError: this.fatalError?.message,
      eventLoopStall: this.stallProbe.stall(),
      lastCompaction: this.lastCompaction,
      electionStretchMs: core.electionStretchTicks * this.config.tickMs,
    };
  }

  /**
   * stop shuts the node down gracefully: no new requests, the current batch finishes (it is
   * persisted and applied), then the transport and the store close. Pending requests reject
   * with STOPPED.
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.stallProbe.stop();
    this.cpuWait.close();
    this.wake();
    await this.loopDone;
    await this.compaction;
    this.rejectAll(new RaftNodeError('STOPPED', `node ${this.config.id} is stopping; retry on another node`));
    await this.transport.stop();
    await this.storage.close();
  }

  // ──────────────────────────────── the loop ────────────────────────────────

  private begin(): void {
    this.stallProbe.start();
    this.tickTimer = setInterval(() => {
      const cpu = process.cpuUsage();
      this.stallProbe.observe(
        performance.now(),
        Date.now(),
        (cpu.user + cpu.system) / 1000,
        this.cpuWait.read(),
      );
      this.core.tick();
      if (++this.ticks % Math.ceil(STALE_CHECK_MS / this.config.tickMs) === 0) this.reportStaleMembers();
      this.wake();
    }, this.config.tickMs);
    this.loopDone = this.run().catch((e: unknown) => this.fail(e));
  }

  /**
   * reportStaleMembers logs, once per member and incarnation, a member whose votes and
   * acknowledgements this node refuses (RaftStatus.staleMembers), with what the operator must do.
   */
  private reportStaleMembers(): void {
    for (const [member, incarnation] of Object.entries(this.core.staleMembers())) {
      const key = `${member} ${incarnation}`;
      if (this.staleReported.has(key)) continue;
      this.staleReported.add(key);
      const bound = this.core.membership().incarnations?.[member];
      this.logger.warn(
        { node: this.config.id, member, incarnation, bound },
        `member ${member} runs on another data folder (incarnation ${incarnation || '(none)'}, the ` +
          `configuration has ${String(bound)}): it lost what it acknowledged, so its votes and ` +
          `acknowledgements are refused. Replace it: on the leader POST /cluster/remove {"id":"${member}"}, ` +
          `then POST /cluster/add-learner {"id":"${member}","peerAddress":"..."} and POST /cluster/promote ` +
          `{"id":"${member}"} once it caught up.`,
      );
    }
  }

  private wake(): void {
    const w = this.wakeUp;
    if (w !== undefined) {
      this.wakeUp = undefined;
      w();
    } else if (!this.stopping) {
      // The loop is busy. If it waits on a Ready's write, what may leave before anything is
      // persisted leaves now (a leader's acknowledgements arriving during its own fsync release
      // the next appends at once), and what they commit of the durable log is applied now (its
      // proposals answered) rather than after that write; with no Ready outstanding, both are empty.
      this.transport.send(this.core.takeEarlyMessages());
      if (this.persisting && !this.applyingEarly) this.applyEarlyCommitted();
    }
  }

  /**
   * applyEarlyCommitted applies what the core committed of the durable log while the loop waits on
   * a write. Not re-entered: a proposal made by the state machine's listeners during these applies
   * must not apply later entries before the rest of this batch.
   */
  private applyEarlyCommitted(): void {
    this.applyingEarly = true;
    try {
      const committed = this.core.takeEarlyCommittedEntries();
      if (committed.length === 0) return;
      if (hopLedger.enabled) this.hops.committed(committed[committed.length - 1]!);
      for (const entry of committed) this.apply(entry);
      this.serveReads();
    } catch (e) {
      this.fail(e);
    } finally {
      this.applyingEarly = false;
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      // Before hasReady, which broadcasts what the leader appended (its no-op) as it stands.
      if (this.role !== 'leader') {
        const soft = this.core.softState();
        if (soft.role === 'leader') {
          await this.takeOffice(soft);
          continue;
        }
      }
      if (!this.core.hasReady()) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      await this.handleReady(this.core.ready());
    }
  }

  /**
   * takeOffice tells the listeners that this node leads (`soft`) before the Ready that reports it
   * is taken, and gives them one event-loop turn: the writes held for the next leader, woken by
   * the 'leader' event, and the state machine's take-office write are proposed in it, so the
   * first append carries them with the no-op and each follower persists them in one write. Taken
   * with the Ready, the no-op left alone and they followed in a second append, often a second
   * synced write on each follower before the first new-term write could commit (bench/README.md
   * "hops"). The Ready then reports the same soft state, which changes nothing more.
   */
  private async takeOffice(soft: SoftState): Promise<void> {
    this.onSoftState(soft);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState);
    if (hopLedger.enabled) this.hops.ready(rd, this.term);
    // A leader's appends go out while it persists its own copy (it counts itself only after).
    this.transport.send(rd.earlyMessages);
    // Committed entries this node already holds durably are applied before the write of newer
    // ones, so their proposals are answered without waiting for an fsync that is not theirs (on
    // a leader that is all of them). Entries the write itself brings, or a snapshot, come after it.
    const durableTo =
      rd.snapshot === undefined
        ? Math.min((rd.entries[0]?.index ?? Number.POSITIVE_INFINITY) - 1, this.storage.mirror.lastIndex())
        : 0;
    let applied = 0;
    while (applied < rd.committedEntries.length && rd.committedEntries[applied]!.index <= durableTo) {
      applied++;
    }
    // In turns of APPLY_TURN_MS_MAX: a Ready of a node catching up holds up to messageBytesMax of
    // entries. Only sliced work hands back a promise: awaiting it on every Ready cost every write
    // a microtask hop here and another below.
    const applyEntry = (entry: Entry): void => this.apply(entry);
    const beforeWrite = applyInTurns(rd.committedEntries, 0, applied, applyEntry);
    if (typeof beforeWrite !== 'number') await beforeWrite;
    if (rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined) {
      const started = performance.now();
      this.persisting = true;
      try {
        await this.storage.save(rd);
      } finally {
        this.persisting = false;
      }
      this.emit('persisted', rd.entries.length, performance.now() - started);
      if (hopLedger.enabled) this.hops.persisted(rd.entries);
    }
    if (rd.hardState !== undefined) this.term = rd.hardState.term;
    this.transport.send(rd.messages);
    if (rd.snapshot !== undefined) {
      // In slices: 100,000 leases took one turn 200 ms and more to decode. Entries and reads
      // wait for it (the Ready is not advanced), and the state machine keeps its previous state
      // until the last slice.
      const { slices, sliceMsMax } = await installSnapshot(this.stateMachine, rd.snapshot.data);
      this.appliedIndex = rd.snapshot.meta.index;
      this.snapshotAppliedBytes = this.appliedBytes;
      this.appliedMembership = rd.snapshot.meta.membership;
      this.logger.info(
        {
          node: this.config.id,
          index: rd.snapshot.meta.index,
          slices,
          sliceMsMax: Math.round(sliceMsMax * 10) / 10,
        },
        'restored state from a leader snapshot',
      );
    }
    const afterWrite = applyInTurns(rd.committedEntries, applied, rd.committedEntries.length, applyEntry);
    if (typeof afterWrite !== 'number') await afterWrite;
    for (const rs of rd.readStates) {
      const read = this.reads.get(rs.requestId);
      if (read !== undefined) read.index = rs.index;
    }
    this.core.advance();
    this.followMembership();
    this.serveReads();
    this.maybeCompact();
  }

  private apply(entry: Entry): void {
    let result: unknown;
    if (entry.kind === 'command') {
      result = this.stateMachine.apply({ index: entry.index, term: entry.term, data: entry.data });
    } else if (entry.kind === 'config') {
      this.appliedMembership = entry.membership;
      this.logger.info(
        { node: this.config.id, index: entry.index, change: entry.change },
        'membership change applied',
      );
    }
    this.appliedIndex = entry.index;
    this.appliedBytes += entrySizeBytes(entry);
    if (hopLedger.enabled) hopLedger.record('apply', this.config.id, entry.index, entry.term);
    this.proposals.applied(entry.index, entry.term, result, this.leader);
  }

  private serveReads(): void {
    for (const [id, read] of this.reads) {
      if (read.index !== undefined && read.index <= this.appliedIndex) {
        this.reads.delete(id);
        clearTimeout(read.timer);
        read.resolve();
      }
    }
  }

  /**
   * maybeCompact starts a snapshot once `snapshotEntries` entries, or `snapshotLogBytes` bytes of
   * entries, were applied past the last one. The
   * state is captured now, at the applied index (cheap), and encoded and written beside the loop,
   * so a large state never stops heartbeats: the loop goes on while the capture stays the state
   * at its index.
   */
  private maybeCompact(): void {
    if (this.compaction !== undefined || this.stopping) return;
    const snapshotIndex = this.storage.mirror.snapshot().meta.index;
    if (
      this.appliedIndex - snapshotIndex < this.config.snapshotEntries &&
      this.appliedBytes - this.snapshotAppliedBytes < this.config.snapshotLogBytes
    ) {
      return;
    }
    const term = this.storage.mirror.term(this.appliedIndex);
    if (term === undefined) return;
    this.snapshotAppliedBytes = this.appliedBytes;
    const meta: SnapshotMeta = { index: this.appliedIndex, term, membership: this.appliedMembership };
    const started = performance.now();
    const capture = this.stateMachine.captureSnapshot();
    this.compaction = this.compact(meta, capture, started)
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        capture.release();
        this.compaction = undefined;
      });
  }

  /**
   * compact encodes `capture` one slice per event-loop turn (setImmediate lets timers and I/O
   * run between slices), then makes it the stored snapshot at `meta` and compacts the log,
   * keeping at most `snapshotTailEntries` entries and half of `snapshotLogBytes` bytes before its
   * index. A snapshot received from the leader meanwhile wins:
   * the store then keeps it and this one is dropped.
   */
  private async compact(meta: SnapshotMeta, capture: SnapshotCapture, started: number): Promise<void> {
    const captureMs = performance.now() - started;
    const encoded = await encodeCapture(capture, () => this.stopping);
    if (encoded === undefined) return;
    const { data, slices, sliceMsMax } = encoded;
    const stored = await this.storage.compact(
      meta,
      data,
      this.config.snapshotTailEntries,
      this.config.snapshotLogBytes / 2,
    );
    const report: CompactionReport = {
      index: meta.index,
      bytes: data.byteLength,
      durationMs: Math.round(performance.now() - started),
      captureMs: Math.round(captureMs * 10) / 10,
      slices,
      sliceMsMax: Math.round(sliceMsMax * 10) / 10,
    };
    if (!stored) {
      this.logger.info(
        { node: this.config.id, ...report },
        'dropped a snapshot: a newer one from the leader was stored while it was encoded',
      );
      return;
    }
    this.lastCompaction = report;
    this.logger.info({ node: this.config.id, ...report }, 'took a snapshot and compacted the log');
  }

  /**
   * followMembership gives the transport every member's address when the configuration changes:
   * the configured peers plus the addresses of members added at run time (from the log or a
   * snapshot). Messages from a member the transport does not know are refused, so this must
   * happen as soon as the config entry is appended, not when it commits.
   */
  private followMembership(): void {
    const membership = this.core.membership();
    if (membership === this.knownMembership) return;
    this.knownMembership = membership;
    const peers = new Map<NodeId, string>(Object.entries(this.config.peers));
    for (const [id, address] of Object.entries(membership.addresses ?? {})) peers.set(id, address);
    peers.delete(this.config.id);
    this.transport.setPeers(peers);
    if (this.leader !== '') this.transport.connectAll();
  }

  // ──────────────────────────────── inputs ────────────────────────────────

  private onMessage(m: Message): void {
    if (this.stopping) return;
    if (m.from === this.lostLeader) this.lostLeader = '';
    const refused = this.core.step(m);
    if (refused !== undefined) this.onRefused(m, refused);
    this.wake();
  }

  /**
   * onRefused counts a message Raft refused on sight and warns once per peer (the transport only
   * hands over messages from known peers, so the set stays bounded): a peer that keeps sending
   * them shows up in omnirelay_raft_messages_refused_total, not as a flood of log lines.
   */
  private onRefused(m: Message, refused: MessageRefusal): void {
    this.messagesRefused[refused.reason]++;
    if (this.refusedPeers.has(m.from)) return;
    this.refusedPeers.add(m.from);
    this.logger.warn(
      {
        node: this.config.id,
        peer: m.from,
        type: m.type,
        term: m.term,
        reason: refused.reason,
        detail: refused.detail,
      },
      'refused a message from a peer on sight; further refusals from this peer are only counted ' +
        '(omnirelay_raft_messages_refused_total); check that peer for a bug, or whether someone else uses its id',
    );
  }

  private onPeerLost(peer: NodeId): void {
    if (this.stopping) return;
    const leaderLost = this.role === 'follower' && peer !== '' && peer === this.leader;
    if (hopLedger.enabled) this.hops.peerLost(peer, leaderLost, this.term);
    if (leaderLost) this.lostLeader = peer;
    this.emit('peerLost', peer);
    if (!this.config.fastFailover) return;
    // The core acts only if `peer` is the leader it follows; for anyone else this is a no-op.
    this.core.leaderUnreachable(peer);
    this.wake();
  }

  private onUndeliverable(peer: NodeId): void {
    if (this.stopping) return;
    this.core.reportUnreachable(peer);
  }

  private onSoftState(soft: SoftState): void {
    const status = this.core.status();
    if (soft.role !== this.role) {
      this.role = soft.role;
      this.emit('role', soft.role, status.term);
      if (soft.role !== 'leader') this.failReads();
    }
    if (soft.leader !== this.leader) {
      this.leader = soft.leader;
      this.lostLeader = '';
      this.logger.info({ node: this.config.id, leader: soft.leader, term: status.term }, 'leader changed');
      if (soft.leader !== '') this.transport.connectAll();
      this.emit('leader', soft.leader, status.term);
    }
  }

  // ──────────────────────────────── helpers ────────────────────────────────

  private refuseRequest(): RaftNodeError | undefined {
    if (this.stopping || this.fatalError !== undefined) {
      return new RaftNodeError(
        'STOPPED',
        `node ${this.config.id} is stopped; retry on another node`,
        this.leader,
      );
    }
    return undefined;
  }

  private track(
    result: { ok: true; index: number; term: number } | RaftRefusal,
    timeoutMs = this.config.proposalTimeoutMs,
  ): Promise<Result> {
    if (!result.ok) return Promise.reject(fromRefusal(result));
    this.wake();
    return this.proposals.add(result.term, result.index, timeoutMs);
  }

  /** deadlineError says whether a quorum was reachable, so the caller knows what happened. */
  private deadlineError(what: 'proposal' | 'read', timeoutMs: number): RaftNodeError {
    const status = this.core.status();
    const voters = status.membership.voters;
    const peers = this.transport.peerStatus();
    const reachable = voters.filter((v) => v === this.config.id || peers[v]?.connected === true).length;
    const quorum = Math.floor(voters.length / 2) + 1;
    if (reachable < quorum || this.role !== 'leader') {
      return new RaftNodeError(
        'NO_QUORUM',
        `the ${what} did not complete within ${timeoutMs} ms: no quorum (node ${this.config.id} reaches ` +
          `${reachable} of ${voters.length} voters, needs ${quorum}); its outcome is unknown and it may still ` +
          `commit once a quorum is back`,
        this.leader,
      );
    }
    return new RaftNodeError(
      'DEADLINE_EXCEEDED',
      `the ${what} did not complete within ${timeoutMs} ms; its outcome is unknown; retry with a longer deadline`,
      this.leader,
    );
  }

  private failReads(): void {
    for (const [id, read] of this.reads) {
      this.reads.delete(id);
      clearTimeout(read.timer);
      read.reject(
        new RaftNodeError(
          'NOT_LEADER',
          'leadership was lost before the read was confirmed; retry',
          this.leader,
        ),
      );
    }
  }

  private rejectAll(error: RaftNodeError): void {
    this.proposals.rejectAll(error);
    for (const [id, read] of this.reads) {
      this.reads.delete(id);
      clearTimeout(read.timer);
      read.reject(error);
    }
  }

  /** fail stops the node after an error it must not survive (a failed fsync, a broken invariant). */
  private fail(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    this.fatalError = error;
    this.stopping = true;
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.stallProbe.stop();
    this.cpuWait.close();
    this.logger.error(
      { node: this.config.id, err: error.message, invariant: isInvariantViolation(e) },
      'the Raft node stopped on a fatal error; the process must restart (see the message for what to check)',
    );
    this.rejectAll(new RaftNodeError('STOPPED', `node ${this.config.id} stopped: ${error.message}`));
    this.emit('fatal', error);
  }
}

function fromRefusal(r: RaftRefusal): RaftNodeError {
  return new RaftNodeError(r.code === 'NOT_READY' ? 'NOT_LEADER' : r.code, r.message, r.leaderHint);
}

/** STALE_CHECK_MS is how often the node looks for members running on another data folder. */
const STALE_CHECK_MS = 1000;
