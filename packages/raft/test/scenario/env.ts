import type { ConfigChange, Membership, Message, NodeId, RaftConfig } from '../../src/core/index';
import { MemoryStorage, Mulberry32, RAFT_CONFIG_DEFAULTS, RaftCore } from '../../src/core/index';
import type { CommandLine } from './args';
import { countArg, intArg, parseCommandLine, positionalAt } from './args';
import { formatEntries, formatHardState, formatMessage, formatReady, formatStatus } from './format';
import { LogMachine } from './kv-machine';
import type { MessageFilter } from './network';
import { ManualNetwork } from './network';

/** STABILIZE_ROUNDS_MAX bounds `stabilize`: a cluster that is still busy after it is livelocked. */
export const STABILIZE_ROUNDS_MAX = 100;
/** TICKS_MAX bounds one `tick` command. */
export const TICKS_MAX = 1_000;

type Options = Omit<RaftConfig, 'id' | 'storage' | 'rng' | 'applied' | 'logger'> & { readonly seed: number };

/** ScenarioNode is one member: its disk survives a crash; its core and state machine do not. */
interface ScenarioNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly rng: Mulberry32;
  core: RaftCore | undefined;
  machine: LogMachine | undefined;
}

const encoder = new TextEncoder();
const FILTER_KEYS = new Set(['from', 'to', 'type', 'skip', 'n']);

/**
 * ScenarioEnv drives real RaftCore instances over a manual network, with MemoryStorage as each
 * node's disk. `run` executes one command line and returns its output. Nothing happens unless a
 * command asks for it: ticks, Ready processing and message delivery are all explicit.
 *
 * Commands:
 *   cluster n1 n2 n3 [election= heartbeat= seed= inflight= bytes= catchup= uncommitted= reads= delay=]
 *   add-node n4                      a joining node with empty storage and membership
 *   elect n1                         campaign + quiet stabilize; fails unless n1 leads
 *   tick n1 [count] | tick-all [count] | campaign n1
 *   propose n1 text | propose-conf n1 addLearner|promote|remove n4
 *   transfer n1 n2 | read-index n1 req1 | unreachable n2 n1 (n2's transport lost leader n1)
 *   step n2 {json}                   hand a raw message to n2's core (`data` strings become bytes)
 *   process [n1 ...]                 one Ready per node: persist, send, apply, advance
 *   deliver [from= to= type=a,b skip= n=] [drop]   deliver (or drop) queued messages in order
 *   dup [filter] | queue             copy matching messages to the end | list the queue
 *   stabilize [quiet]                process and deliver until nothing moves
 *   partition n1 n2 | n3 ...  / heal  cut links between groups (an unlisted node is alone)
 *   crash n1 / restart n1            drop the core, state machine and unsent messages / reboot from disk
 *   compact n1 index                 snapshot the applied state at index and drop the log it covers
 *   status [n1 ...] | log [n1 ...]   the core's view | the durable disk
 *   raft-log on|off                  include RaftCore logger lines in the output
 */
export class ScenarioEnv {
  private readonly nodes = new Map<NodeId, ScenarioNode>();
  private readonly network = new ManualNetwork();
  private options: Options = { ...RAFT_CONFIG_DEFAULTS, electionTicks: 10, heartbeatTicks: 2, seed: 1 };
  private raftLog = false;
  private out: string[] = [];

  /** run executes one command and returns its output (`ok` when it prints nothing). */
  run(line: string): string {
    this.out = [];
    const cmd = parseCommandLine(line);
    this.dispatch(cmd);
    for (const l of this.out) {
      if (l.trim() === '') throw new Error(`${cmd.name}: printed a blank line, which the format forbids`);
    }
    return this.out.length === 0 ? 'ok' : this.out.join('\n');
  }

  private dispatch(cmd: CommandLine): void {
    switch (cmd.name) {
      case 'cluster':
        return this.cluster(cmd);
      case 'add-node':
        return this.addNode(positionalAt(cmd, 0, 'node'), { voters: [], learners: [] });
      case 'raft-log':
        this.raftLog = positionalAt(cmd, 0, 'on|off') === 'on';
        return;
      case 'tick':
        return this.tick(cmd);
      case 'tick-all':
        return this.tickAll(countArg(cmd, 0, TICKS_MAX));
      case 'campaign':
        this.core(positionalAt(cmd, 0, 'node')).campaign();
        return;
      case 'elect':
        return this.elect(positionalAt(cmd, 0, 'node'));
      case 'propose':
        return this.propose(cmd);
      case 'propose-conf':
        return this.proposeConf(cmd);
      case 'transfer':
        return this.transfer(cmd);
      case 'read-index':
        return this.readIndex(cmd);
      case 'unreachable':
        this.core(positionalAt(cmd, 0, 'node')).leaderUnreachable(positionalAt(cmd, 1, 'leader'));
        return;
      case 'step':
        return this.stepRaw(cmd);
      case 'process':
        return this.processNodes(cmd.positional.length > 0 ? cmd.positional : [...this.nodes.keys()]);
      case 'deliver':
        return this.deliver(this.filter(cmd), cmd.positional.includes('drop'));
      case 'dup':
        for (const m of this.network.duplicate(this.filter(cmd))) this.print(`dup ${formatMessage(m)}`);
        return;
      case 'queue':
        for (const m of this.network.queued()) this.print(formatMessage(m));
        return;
      case 'stabilize':
        return this.stabilize(cmd.positional.includes('quiet'));
      case 'partition':
        return this.partition(cmd);
      case 'heal':
        this.network.heal();
        return;
      case 'crash':
        return this.crash(positionalAt(cmd, 0, 'node'));
      case 'restart':
        return this.restart(positionalAt(cmd, 0, 'node'));
      case 'compact':
        return this.compact(cmd);
      case 'status':
        return this.status(cmd.positional.length > 0 ? cmd.positional : [...this.nodes.keys()]);
      case 'log':
        return this.printLogs(cmd.positional.length > 0 ? cmd.positional : [...this.nodes.keys()]);
      default:
        throw new Error(`unknown command "${cmd.name}"`);
    }
  }

  private print(line: string): void {
    this.out.push(line);
  }

  // ─────────────────────────────── nodes ───────────────────────────────

  private cluster(cmd: CommandLine): void {
    if (this.nodes.size > 0) throw new Error('cluster: the cluster already exists');
    const d = this.options;
    this.options = {
      ...d,
      electionTicks: intArg(cmd, 'election', d.electionTicks),
      heartbeatTicks: intArg(cmd, 'heartbeat', d.heartbeatTicks),
      seed: intArg(cmd, 'seed', d.seed),
      inflightMessagesMax: intArg(cmd, 'inflight', d.inflightMessagesMax),
      messageBytesMax: intArg(cmd, 'bytes', d.messageBytesMax),
      learnerCatchUpEntriesMax: intArg(cmd, 'catchup', d.learnerCatchUpEntriesMax),
      uncommittedEntriesMax: intArg(cmd, 'uncommitted', d.uncommittedEntriesMax),
      readIndexQueueMax: intArg(cmd, 'reads', d.readIndexQueueMax),
      unreachableCampaignDelayTicksMax: intArg(cmd, 'delay', d.unreachableCampaignDelayTicksMax),
    };
    const voters = [...cmd.positional].sort();
    for (const id of cmd.positional) this.addNode(id, { voters, learners: [] });
  }

  private addNode(id: NodeId, membership: Membership): void {
    if (this.nodes.has(id)) throw new Error(`${id} already exists`);
    const node: ScenarioNode = {
      id,
      storage: MemoryStorage.bootstrap(membership),
      rng: new Mulberry32(this.options.seed * 1000 + this.nodes.size),
      core: undefined,
      machine: undefined,
    };
    this.nodes.set(id, node);
    this.boot(node);
  }

  private boot(node: ScenarioNode): void {
    const { seed: _seed, ...options } = this.options;
    node.machine = LogMachine.fromSnapshot(node.storage.snapshot());
    node.core = new RaftCore({
      ...options,
      id: node.id,
      storage: node.storage,
      rng: node.rng,
      applied: node.machine.appliedIndex,
      logger: (line) => {
        if (this.raftLog) this.print(`  log: ${line}`);
      },
    });
  }

  private node(id: NodeId): ScenarioNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private core(id: NodeId): RaftCore {
    const core = this.node(id).core;
    if (core === undefined) throw new Error(`${id} is down`);
    return core;
  }

  private crash(id: NodeId): void {
    const node = this.node(id);
    node.core = undefined;
    node.machine = undefined;
    const dropped = this.network.dropFrom(id);
    this.print(`${id} crashed; ${dropped} unsent messages lost`);
  }

  private restart(id: NodeId): void {
    const node = this.node(id);
    if (node.core !== undefined) throw new Error(`restart: ${id} is running`);
    this.boot(node);
    this.status([id]);
  }

  // ─────────────────────────────── time and requests ───────────────────────────────

  private tick(cmd: CommandLine): void {
    const core = this.core(positionalAt(cmd, 0, 'node'));
    const count = countArg(cmd, 1, TICKS_MAX);
    for (let i = 0; i < count; i++) core.tick();
  }

  private tickAll(count: number): void {
    for (let i = 0; i < count; i++) {
      for (const node of this.nodes.values()) node.core?.tick();
    }
  }

  private elect(id: NodeId): void {
    this.core(id).campaign();
    this.stabilize(true);
    const s = this.core(id).status();
    if (s.role !== 'leader') throw new Error(`elect: ${id} did not win (it is ${s.role} at term ${s.term})`);
    this.print(`${id} leads term ${s.term}`);
  }

  private propose(cmd: CommandLine): void {
    const id = positionalAt(cmd, 0, 'node');
    const text = cmd.rest.slice(id.length).trim();
    if (text === '') throw new Error('propose: missing text');
    const result = this.core(id).propose(encoder.encode(text));
    if (result.ok) this.print(`${id} appended ${result.index}/${result.term}`);
    else
      this.print(`${id} refused ${result.code} (leader hint ${result.leaderHint || '-'}): ${result.message}`);
  }

  private proposeConf(cmd: CommandLine): void {
    const id = positionalAt(cmd, 0, 'node');
    const type = positionalAt(cmd, 1, 'addLearner|promote|remove');
    if (type !== 'addLearner' && type !== 'promote' && type !== 'remove') {
      throw new Error(`propose-conf: unknown change ${type}`);
    }
    const change: ConfigChange = { type, node: positionalAt(cmd, 2, 'target node') };
    const result = this.core(id).proposeConfigChange(change);
    if (result.ok) this.print(`${id} appended ${result.index}/${result.term}`);
    else
      this.print(`${id} refused ${result.code} (leader hint ${result.leaderHint || '-'}): ${result.message}`);
  }

  private transfer(cmd: CommandLine): void {
    const id = positionalAt(cmd, 0, 'node');
    const result = this.core(id).transferLeadership(positionalAt(cmd, 1, 'target'));
    if (result.ok) this.print(`${id} accepted`);
    else
      this.print(`${id} refused ${result.code} (leader hint ${result.leaderHint || '-'}): ${result.message}`);
  }

  private readIndex(cmd: CommandLine): void {
    const id = positionalAt(cmd, 0, 'node');
    const result = this.core(id).readIndex(positionalAt(cmd, 1, 'request id'));
    if (result.ok) this.print(`${id} accepted`);
    else
      this.print(`${id} refused ${result.code} (leader hint ${result.leaderHint || '-'}): ${result.message}`);
  }

  /** stepRaw hands a raw JSON message straight to a core; `data` strings become bytes. */
  private stepRaw(cmd: CommandLine): void {
    const id = positionalAt(cmd, 0, 'node');
    const json = cmd.rest.slice(id.length).trim();
    const message: unknown = JSON.parse(json, (key, value: unknown) =>
      key === 'data' && typeof value === 'string' ? encoder.encode(value) : value,
    );
    this.core(id).step(message as Message);
  }

  // ─────────────────────────────── Ready and the network ───────────────────────────────

  private processNodes(ids: readonly NodeId[]): void {
    for (const id of ids) this.processOne(this.node(id));
  }

  /** processOne handles one Ready the way the runtime does: persist, send, apply, advance. */
  private processOne(node: ScenarioNode): boolean {
    const core = node.core;
    const machine = node.machine;
    if (core === undefined || machine === undefined || !core.hasReady()) return false;
    const rd = core.ready();
    for (const line of formatReady(node.id, rd)) this.print(line);
    if (rd.snapshot !== undefined) node.storage.installSnapshot(rd.snapshot);
    node.storage.append(rd.entries);
    if (rd.hardState !== undefined) node.storage.setHardState(rd.hardState);
    this.network.send(rd.earlyMessages);
    this.network.send(rd.messages);
    if (rd.snapshot !== undefined) machine.restore(rd.snapshot);
    for (const e of rd.committedEntries) machine.apply(e);
    core.advance();
    return true;
  }

  private filter(cmd: CommandLine): MessageFilter {
    for (const key of cmd.keyed.keys()) {
      if (!FILTER_KEYS.has(key)) throw new Error(`${cmd.name}: unknown filter ${key}=`);
    }
    const from = cmd.keyed.get('from');
    const to = cmd.keyed.get('to');
    const type = cmd.keyed.get('type');
    return {
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(type === undefined ? {} : { types: type.split(',') }),
      skip: intArg(cmd, 'skip', 0),
      limit: intArg(cmd, 'n', Number.MAX_SAFE_INTEGER),
    };
  }

  private deliver(filter: MessageFilter, drop: boolean): void {
    for (const m of this.network.take(filter)) {
      const line = formatMessage(m);
      const target = this.nodes.get(m.to);
      if (drop) this.print(`${line} (dropped)`);
      else if (this.network.isCut(m.from, m.to)) this.print(`${line} (dropped: partition)`);
      else if (target === undefined) this.print(`${line} (dropped: no such node)`);
      else if (target.core === undefined) this.print(`${line} (dropped: ${m.to} is down)`);
      else {
        this.print(line);
        target.core.step(m);
      }
    }
  }

  private stabilize(quiet: boolean): void {
    const saved = this.out;
    if (quiet) this.out = [];
    const all: MessageFilter = { skip: 0, limit: Number.MAX_SAFE_INTEGER };
    for (let round = 0; round < STABILIZE_ROUNDS_MAX; round++) {
      let busy = false;
      for (const node of this.nodes.values()) busy = this.processOne(node) || busy;
      if (this.network.size > 0) {
        busy = true;
        this.deliver(all, false);
      }
      if (!busy) {
        if (quiet) this.out = saved;
        return;
      }
    }
    throw new Error(`stabilize: still busy after ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  private partition(cmd: CommandLine): void {
    const groups: NodeId[][] = [[]];
    for (const word of cmd.positional) {
      if (word === '|') groups.push([]);
      else groups[groups.length - 1]!.push(word);
    }
    this.network.partition(groups);
  }

  // ─────────────────────────────── disk and inspection ───────────────────────────────

  /** compact takes a snapshot at `index` from the node's applied state and drops the log it covers. */
  private compact(cmd: CommandLine): void {
    const node = this.node(positionalAt(cmd, 0, 'node'));
    const index = Number(positionalAt(cmd, 1, 'index'));
    const machine = node.machine;
    if (machine === undefined) throw new Error(`compact: ${node.id} is down`);
    const term = node.storage.term(index);
    if (term === undefined) throw new Error(`compact: ${node.id} has no entry ${index}`);
    let membership = node.storage.snapshot().meta.membership;
    for (const e of node.storage.entries(node.storage.firstIndex(), index + 1, Number.MAX_SAFE_INTEGER)) {
      if (e.kind === 'config') membership = e.membership;
    }
    node.storage.createSnapshot({ index, term, membership }, machine.encodeUpTo(index));
    this.printLogs([node.id]);
  }

  private status(ids: readonly NodeId[]): void {
    for (const id of ids) {
      const node = this.node(id);
      if (node.core === undefined || node.machine === undefined) {
        this.print(`${id} down`);
        continue;
      }
      for (const line of formatStatus(node.core.status())) this.print(line);
      this.print(`  applied-commands ${node.machine.describe()}`);
    }
  }

  private printLogs(ids: readonly NodeId[]): void {
    for (const id of ids) {
      const s = this.node(id).storage;
      const snap = s.snapshot().meta;
      const entries = s.lastIndex() >= s.firstIndex() ? s.allEntries() : [];
      this.print(
        `${id} disk: ${formatHardState(s.initialHardState())} snapshot=(${snap.index},${snap.term}) ` +
          `log=${formatEntries(entries)}`,
      );
    }
  }
}
