import type { Entry, Membership, Message, NodeId, Ready, Role } from '../../src/core/index';
import type { Mulberry32 } from '../../src/core/index';
import { MemoryStorage, RAFT_CONFIG_DEFAULTS, RaftCore } from '../../src/core/index';
import {
  checkCommittedDurable,
  checkLeaderAppendOnly,
  checkLeaderCompleteness,
  checkLogMatching,
  checkProposalOutcome,
  checkReadIndex,
  checkReadServed,
  checkSnapshotRestore,
  checkStateMachineSafety,
} from '../support/checkers';
import { KvStateMachine } from '../support/kv-state-machine';
import type { DurableLogReader } from '../support/log-view';
import { LogView } from '../support/log-view';
import type { SafetyHistory } from '../support/safety-history';

/** SimHost is what a simulated node needs from the simulation around it. */
export interface SimHost {
  readonly rng: Mulberry32;
  readonly history: SafetyHistory;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly unreachableCampaignDelayTicksMax: number;
  readonly learnerCatchUpEntriesMax: number;
  /** compactPerMille is the chance of a snapshot after an apply. */
  readonly compactPerMille: number;
  /** diskLoss: cores get incarnations, and a node may lose its disk (see SimOptions.diskLoss). */
  readonly diskLoss: boolean;
  /** send hands a message to the network. */
  send(message: Message): void;
  /** persistDelayUnits draws how long the next durable write takes (0 for an immediate one). */
  persistDelayUnits(): number;
  /** schedulePersist completes the node's pending write after `delayUnits`, unless the node crashes first. */
  schedulePersist(node: SimNode, incarnation: number, delayUnits: number): void;
  note(node: NodeId, what: string): void;
  /** durableLogs lists every node's storage, crashed or not, for the durability check. */
  durableLogs(): Iterable<readonly [NodeId, DurableLogReader]>;
  /** onRoleChange reports what a node's Ready said about its role and leader. */
  onRoleChange(node: SimNode, role: Role, leader: NodeId): void;
}

/**
 * READY_LOOP_MAX bounds how many Readys one drive() takes back to back without a durable write;
 * any left over are taken at the node's next event (its next tick at the latest).
 */
const READY_LOOP_MAX = 64;

/**
 * SimNode emulates the node runtime for one Raft member, following the Ready contract to the
 * letter: early messages go out at once (and, while a write is in flight, those queued since:
 * takeEarlyMessages), the durable write (hard state, snapshot, entries into
 * MemoryStorage, the simulated disk) completes after a random delay, and only then are
 * `messages` sent, the state machine restored and fed, and `advance()` called. A crash drops the
 * core, the state machine and the pending write; a restart rebuilds all three from storage alone.
 */
export class SimNode {
  /** storage is the node's disk: it holds only what a completed write made durable. */
  storage: MemoryStorage;
  /** lostDisks are the disks this node lost, oldest first: what they held was durable once. */
  readonly lostDisks: MemoryStorage[] = [];
  /** requireBinding is set once the node lost a disk: its new, empty store joins (RaftConfig.requireBinding). */
  private requireBinding = false;
  private coreValue: RaftCore | undefined;
  /** incarnation counts starts; deliveries and writes of an earlier incarnation are lost. */
  incarnation = 0;
  kv = new KvStateMachine();
  /** view mirrors the core's log: storage plus the entries handed out in the pending Ready. */
  view = new LogView();
  private pending: Ready | undefined;
  /** pendingApplied counts the pending Ready's committed entries applied before its write (durable ones). */
  private pendingApplied = 0;
  /** appliedMembership is the configuration as of the applied index (for snapshot metadata). */
  private appliedMembership: Membership;
  /** confirmedReads maps confirmed ReadIndex requests to their read index until served. */
  private readonly confirmedReads = new Map<string, number>();
  /** role and leader are the last values a Ready reported. */
  role: Role = 'follower';
  leader: NodeId = '';
  /**
   * tickPeriodUnits is how many time units this node's tick timer takes (9, 10 or 11): node
   * clocks drift apart by up to 20 %, which safety must not notice.
   */
  tickPeriodUnits = 10;
  /** pausedUntil is the time a paused node (a long GC pause, a stopped VM) resumes; 0 when running. */
  pausedUntil = 0;
  /** snapshotsTaken and snapshotsInstalled count compactions and received snapshots. */
  snapshotsTaken = 0;
  snapshotsInstalled = 0;
  readsServed = 0;

  /** constructor creates a stopped node over `storage`; call start(). */
  constructor(
    readonly id: NodeId,
    storage: MemoryStorage,
    private readonly host: SimHost,
  ) {
    this.storage = storage;
    this.appliedMembership = storage.snapshot().meta.membership;
  }

  /** diskIncarnation names the node's current disk (RaftConfig.incarnation): a lost disk makes a new one. */
  get diskIncarnation(): string {
    return `${this.id}-d${this.lostDisks.length}`;
  }

  /**
   * loseDisk replaces the disk of a crashed node by an empty one that joins the cluster, as an
   * operator's restart after the data folder was lost does (--initial-cluster-state existing).
   */
  loseDisk(): void {
    if (this.coreValue !== undefined) throw new Error(`sim: ${this.id} lost its disk while running`);
    this.lostDisks.push(this.storage);
    this.storage = MemoryStorage.bootstrap({ voters: [], learners: [] });
    this.requireBinding = true;
  }

  /** core is the running RaftCore, undefined while crashed. */
  get core(): RaftCore | undefined {
    return this.coreValue;
  }

  /** alive is true when the node runs. */
  get alive(): boolean {
    return this.coreValue !== undefined;
  }

  /** start boots (or restarts) the node from its storage: state machine from the snapshot, then the core. */
  start(): void {
    if (this.coreValue !== undefined) throw new Error(`sim: ${this.id} started twice`);
    const snap = this.storage.snapshot();
    this.incarnation++;
    this.kv = KvStateMachine.restore(snap.data);
    if (this.kv.appliedIndex !== snap.meta.index) {
      throw new Error(
        `sim: ${this.id} snapshot at ${snap.meta.index} holds state at ${this.kv.appliedIndex}`,
      );
    }
    checkSnapshotRestore(this.host.history, this.id, snap.meta.index, snap.meta.term, this.kv.chain);
    this.appliedMembership = snap.meta.membership;
    // The view starts after the snapshot; a tail kept before its index is the core's business.
    const afterSnapshot = this.storage.allEntries().filter((e) => e.index > snap.meta.index);
    this.view = LogView.fromEntries(snap.meta.index, snap.meta.term, afterSnapshot);
    this.pending = undefined;
    this.confirmedReads.clear();
    this.role = 'follower';
    this.leader = '';
    this.coreValue = new RaftCore({
      ...RAFT_CONFIG_DEFAULTS,
      id: this.id,
      storage: this.storage,
      rng: this.host.rng,
      electionTicks: this.host.electionTicks,
      heartbeatTicks: this.host.heartbeatTicks,
      unreachableCampaignDelayTicksMax: this.host.unreachableCampaignDelayTicksMax,
      learnerCatchUpEntriesMax: this.host.learnerCatchUpEntriesMax,
      applied: snap.meta.index,
      ...(this.host.diskLoss
        ? { incarnation: this.diskIncarnation, requireBinding: this.requireBinding }
        : {}),
    });
  }

  /** crash stops the node: the core, the state machine and any write not yet completed are lost. */
  crash(): void {
    this.coreValue = undefined;
    this.pausedUntil = 0;
    this.pending = undefined;
    this.confirmedReads.clear();
    this.role = 'follower';
    this.leader = '';
  }

  /**
   * drive takes every Ready the core has, as long as no write is pending: it checks the log the
   * Ready reveals, sends the early messages and starts the durable write (or completes it at once
   * when there is nothing to write).
   */
  drive(): void {
    // As RaftNode does: what may leave before any write leaves while a write is in flight, and
    // what is committed of the durable log is applied.
    if (this.pending !== undefined && this.coreValue !== undefined) {
      for (const m of this.coreValue.takeEarlyMessages()) this.host.send(m);
      const early = this.coreValue.takeEarlyCommittedEntries();
      if (early.length > 0) {
        this.host.note(this.id, `apply early ${early[0]!.index}..${early[early.length - 1]!.index}`);
        this.applyCommitted(early, this.coreValue.status().term);
        this.serveReads();
      }
    }
    for (let round = 0; round < READY_LOOP_MAX; round++) {
      const core = this.coreValue;
      if (core === undefined || this.pending !== undefined || !core.hasReady()) return;
      const rd = core.ready();
      this.pending = rd;
      this.observeReady(core, rd);
      for (const m of rd.earlyMessages) this.host.send(m);
      // As RaftNode does: committed entries already durable here are applied before the write.
      const durableTo =
        rd.snapshot === undefined
          ? Math.min((rd.entries[0]?.index ?? Number.POSITIVE_INFINITY) - 1, this.storage.lastIndex())
          : 0;
      let applied = 0;
      while (applied < rd.committedEntries.length && rd.committedEntries[applied]!.index <= durableTo)
        applied++;
      this.pendingApplied = applied;
      if (applied > 0) this.applyCommitted(rd.committedEntries.slice(0, applied), core.status().term);
      const durable = rd.hardState !== undefined || rd.snapshot !== undefined || rd.entries.length > 0;
      const delay = durable ? this.host.persistDelayUnits() : 0;
      if (delay > 0) {
        this.host.schedulePersist(this, this.incarnation, delay);
        return;
      }
      this.completeWrite();
    }
  }

  private observeReady(core: RaftCore, rd: Ready): void {
    const status = core.status();
    const history = this.host.history;
    const lastIndexBefore = this.view.lastIndex();
    if (rd.snapshot !== undefined) this.view.installSnapshot(rd.snapshot.meta.index, rd.snapshot.meta.term);
    this.view.append(rd.entries);
    checkLogMatching(history, this.id, this.view, rd.entries);
    checkLeaderAppendOnly(history, {
      node: this.id,
      incarnation: this.incarnation,
      role: status.role,
      term: status.term,
      entries: rd.entries,
      snapshotIndex: rd.snapshot?.meta.index,
      lastIndexBefore,
      lastIndexAfter: this.view.lastIndex(),
    });
    if (this.view.lastIndex() !== status.lastIndex) {
      throw new Error(
        `sim: after ready() ${this.id}'s log view ends at ${this.view.lastIndex()} but the core's at ${status.lastIndex}`,
      );
    }
    if (status.role === 'leader') {
      checkLeaderCompleteness(history, this.id, this.incarnation, status.term, this.view);
    }
    if (rd.softState !== undefined) {
      this.role = rd.softState.role;
      this.leader = rd.softState.leader;
      this.host.onRoleChange(this, rd.softState.role, rd.softState.leader);
    }
    if (rd.entries.length > 0 || rd.snapshot !== undefined || rd.committedEntries.length > 0) {
      const parts: string[] = [];
      if (rd.snapshot !== undefined)
        parts.push(`snapshot ${rd.snapshot.meta.index}@${rd.snapshot.meta.term}`);
      if (rd.entries.length > 0) {
        parts.push(
          `entries ${rd.entries[0]!.index}..${rd.entries[rd.entries.length - 1]!.index}@${rd.entries[rd.entries.length - 1]!.term}`,
        );
      }
      if (rd.committedEntries.length > 0) {
        parts.push(
          `apply ${rd.committedEntries[0]!.index}..${rd.committedEntries[rd.committedEntries.length - 1]!.index}`,
        );
      }
      this.host.note(this.id, `ready ${parts.join(', ')}`);
    }
  }

  /**
   * completeWrite finishes the pending Ready once its write is durable: storage first, then the
   * messages that promise durable state, then the state machine, then advance(). The simulator
   * calls it when the write's delay has passed and the node has not crashed meanwhile.
   */
  completeWrite(): void {
    const core = this.coreValue;
    const rd = this.pending;
    if (core === undefined || rd === undefined)
      throw new Error(`sim: ${this.id} completed a write it did not start`);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    if (rd.snapshot !== undefined) this.storage.installSnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    for (const m of rd.messages) this.host.send(m);
    const history = this.host.history;
    if (rd.snapshot !== undefined) {
      const meta = rd.snapshot.meta;
      this.kv = KvStateMachine.restore(rd.snapshot.data);
      if (this.kv.appliedIndex !== meta.index) {
        throw new Error(
          `sim: ${this.id} received snapshot ${meta.index}@${meta.term} holding state at ${this.kv.appliedIndex}`,
        );
      }
      checkSnapshotRestore(history, this.id, meta.index, meta.term, this.kv.chain);
      this.appliedMembership = meta.membership;
      this.snapshotsInstalled++;
      this.host.note(this.id, `installed snapshot ${meta.index}@${meta.term}`);
    }
    if (rd.committedEntries.length > this.pendingApplied) {
      this.applyCommitted(rd.committedEntries.slice(this.pendingApplied), core.status().term);
    }
    for (const rs of rd.readStates) {
      checkReadIndex(history, this.id, rs);
      this.confirmedReads.set(rs.requestId, rs.index);
      this.host.note(this.id, `read ${rs.requestId} confirmed at ${rs.index}`);
    }
    this.serveReads();
    this.pending = undefined;
    core.advance();
    this.maybeCompact();
  }

  private applyCommitted(entries: readonly Entry[], term: number): void {
    const history = this.host.history;
    for (const e of entries) {
      const first = checkStateMachineSafety(history, this.id, e, term);
      this.kv.apply(e);
      if (e.kind === 'config') this.appliedMembership = e.membership;
      if (first) {
        checkCommittedDurable(history, e.index, this.host.durableLogs());
        checkProposalOutcome(history, e);
      }
    }
  }

  private serveReads(): void {
    for (const [requestId, index] of this.confirmedReads) {
      if (index > this.kv.appliedIndex) continue;
      checkReadServed(this.host.history, this.id, requestId, this.kv.appliedIndex);
      this.confirmedReads.delete(requestId);
      this.readsServed++;
    }
  }

  private maybeCompact(): void {
    const index = this.kv.appliedIndex;
    if (index <= this.storage.snapshot().meta.index) return;
    if (this.host.rng.intBelow(1000) >= this.host.compactPerMille) return;
    const term = this.storage.term(index);
    if (term === undefined) throw new Error(`sim: ${this.id} applied ${index} but its storage lacks it`);
    // Keep a tail of up to 7 entries before the snapshot index, as the runtime's
    // snapshotTailEntries does, so lagging followers catch up from it. It is derived from the
    // index, not drawn from the PRNG, so every kept seed replays exactly as before.
    const tailEntries = index % 8;
    this.storage.createSnapshot(
      { index, term, membership: this.appliedMembership },
      this.kv.snapshot(),
      tailEntries,
    );
    this.view.compact(index);
    this.snapshotsTaken++;
    this.host.note(this.id, `compacted to ${index}@${term}`);
  }
}

/** bootstrapStorage returns the disk of a node of the initial cluster, or of a node added later (empty configuration). */
export function bootstrapStorage(voters: readonly NodeId[]): MemoryStorage {
  return MemoryStorage.bootstrap({ voters: [...voters].sort(), learners: [] });
}
