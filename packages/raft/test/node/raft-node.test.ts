import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type {
  AppliedCommand,
  RaftNodeConfig,
  SnapshotCapture,
  SnapshotInstall,
  StateMachine,
  TransportLogger,
} from '../../src/index';
import { RAFT_NODE_DEFAULTS, RaftNode, hopLedger, isRaftNodeError, wholeSnapshot } from '../../src/index';

/** LogMachine records every applied command, so replicas can be compared. */
class LogMachine implements StateMachine<number> {
  applied: string[] = [];
  apply(c: AppliedCommand): number {
    this.applied.push(Buffer.from(c.data).toString());
    return this.applied.length;
  }
  captureSnapshot(): SnapshotCapture {
    return wholeSnapshot(Buffer.from(JSON.stringify(this.applied)));
  }
  restore(data: Uint8Array): void {
    this.applied = JSON.parse(Buffer.from(data).toString()) as string[];
  }
}

/**
 * SlicedLogMachine is a LogMachine that installs a snapshot `slicedItemsMax` commands per slice,
 * keeping its previous list until the last slice, and records how each install went.
 */
class SlicedLogMachine extends LogMachine {
  static readonly slicedItemsMax = 50;
  readonly installs: { slices: number; items: number }[] = [];
  beginRestore(data: Uint8Array): SnapshotInstall {
    const items = JSON.parse(Buffer.from(data).toString()) as string[];
    const install = { slices: 0, items: items.length };
    this.installs.push(install);
    const built: string[] = [];
    return {
      installSlice: () => {
        install.slices++;
        built.push(...items.slice(built.length, built.length + SlicedLogMachine.slicedItemsMax));
        if (built.length < items.length) return false;
        this.applied = built;
        return true;
      },
    };
  }
}

/**
 * SlowLogMachine is a LogMachine whose apply takes `applyMs` of CPU, and which counts the most
 * commands it applied in one event-loop turn (a setImmediate armed at a turn's first apply
 * closes that turn).
 */
class SlowLogMachine extends LogMachine {
  static readonly applyMs = 1;
  appliedPerTurnMax = 0;
  private appliedThisTurn = 0;
  override apply(c: AppliedCommand): number {
    if (this.appliedThisTurn === 0) setImmediate(() => (this.appliedThisTurn = 0));
    this.appliedThisTurn++;
    this.appliedPerTurnMax = Math.max(this.appliedPerTurnMax, this.appliedThisTurn);
    const until = performance.now() + SlowLogMachine.applyMs;
    for (let spins = 0; spins < 10_000_000 && performance.now() < until; spins++);
    return super.apply(c);
  }
}

const quiet: TransportLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * startNodes starts a 3-member cluster `ids` on loopback in one process, each node's store under
 * `root`, with the defaults and `settings`, and adds each node (and its machine) to the maps.
 */
async function startNodes(
  root: string,
  ids: readonly string[],
  settings: Partial<RaftNodeConfig>,
  nodes: Map<string, RaftNode<number>>,
  machines = new Map<string, LogMachine>(),
  makeMachine: () => LogMachine = () => new LogMachine(),
): Promise<Map<string, RaftNodeConfig>> {
  const configs = new Map<string, RaftNodeConfig>();
  const ports = await Promise.all(ids.map(() => freePort()));
  const addresses = Object.fromEntries(ids.map((id, i) => [id, `127.0.0.1:${ports[i]!}`]));
  for (const id of ids) {
    const config: RaftNodeConfig = {
      ...RAFT_NODE_DEFAULTS,
      ...settings,
      clusterId: 'test',
      id,
      dataDir: join(root, id),
      peerAddress: addresses[id]!,
      peers: Object.fromEntries(ids.filter((p) => p !== id).map((p) => [p, addresses[p]!])),
      bootstrapVoters: [...ids],
      initialClusterState: 'new',
    };
    const machine = makeMachine();
    machines.set(id, machine);
    configs.set(id, config);
    nodes.set(id, await RaftNode.start(config, machine, quiet));
  }
  return configs;
}

describe('RaftNode in one process on loopback', () => {
  jest.setTimeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-node-'));
  const ids = ['n1', 'n2', 'n3'];
  const nodes = new Map<string, RaftNode<number>>();
  const machines = new Map<string, LogMachine>();

  beforeAll(() => startNodes(root, ids, {}, nodes, machines));

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  it('elects one leader and applies proposals on every node in the same order', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => leader.propose(Buffer.from(`cmd-${i}`))),
    );
    expect(new Set(results).size).toBe(200);
    await waitFor('every node to apply', () =>
      [...machines.values()].every((m) => m.applied.length === 200) ? true : undefined,
    );
    const reference = machines.get(leader.id)!.applied;
    for (const m of machines.values()) expect(m.applied).toEqual(reference);
  });

  it('refuses a proposal on a follower with NOT_LEADER and the leader hint', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader));
    const follower = [...nodes.values()].find((n) => !n.isLeader)!;
    await waitFor('the follower to know the leader', () =>
      follower.leaderId === leader.id ? true : undefined,
    );
    const error: unknown = await follower.propose(Buffer.from('x')).catch((e: unknown) => e);
    expect(isRaftNodeError(error, 'NOT_LEADER')).toBe(true);
    expect((error as { leaderHint: string }).leaderHint).toBe(leader.id);
  });

  it('serves a read barrier on the leader only after everything before it is applied', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader));
    const before = machines.get(leader.id)!.applied.length;
    await leader.propose(Buffer.from('before-read'));
    await leader.readBarrier();
    expect(machines.get(leader.id)!.applied.length).toBeGreaterThan(before);
  });

  it('connects every follower to the other followers once a leader is known (no cold link on failover)', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader));
    const followers = [...nodes.values()].filter((n) => n !== leader);
    // Followers never send each other anything while the leader lives; their links are opened
    // anyway, so the first vote of an election or a transfer needs no TCP and HTTP/2 handshake.
    await waitFor('the followers to be connected to each other', () =>
      followers.every((f) =>
        followers.every((other) => other === f || f.status().peers[other.id]?.connected === true),
      )
        ? true
        : undefined,
    );
  });

  it('hands leadership over on request', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader));
    const target = ids.find((id) => id !== leader.id)!;
    leader.transferLeadership(target);
    await waitFor('the target to lead', () => (nodes.get(target)!.isLeader ? true : undefined));
    await nodes.get(target)!.propose(Buffer.from('after-transfer'));
  });
});

describe('RaftNode taking office', () => {
  jest.setTimeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-node-office-'));
  const ids = ['n1', 'n2', 'n3'];
  const nodes = new Map<string, RaftNode<number>>();

  beforeAll(() => startNodes(root, ids, { electionTimeoutMs: 2000 }, nodes));

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  // The writes a server holds for the next leader are proposed when the 'leader' event wakes them,
  // a few microtasks after it; the take-office write in the listener itself. Both must ride the
  // new leader's first append with its no-op, or each follower persists them in a second write
  // before the first new-term write can commit.
  it('sends its first append with the no-op and what its leader listeners proposed, at once or a microtask later', async () => {
    // The ledger records each append a Ready hands out, with its last index (one-way: on for the rest of this file).
    hopLedger.enable();
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader), 20_000);
    const target = [...nodes.values()].find((n) => n !== leader)!;
    await waitFor('the target to know the leader', () => (target.leaderId === leader.id ? true : undefined));
    const proposed: Array<Promise<number>> = [];
    target.on('leader', (id: string) => {
      if (id !== target.id || proposed.length > 0) return;
      proposed.push(target.propose(Buffer.from('in-the-listener')));
      void Promise.resolve().then(() => proposed.push(target.propose(Buffer.from('a-microtask-later'))));
    });
    hopLedger.drain();
    leader.transferLeadership(target.id);
    await waitFor('both proposals', () => (proposed.length === 2 ? true : undefined));
    await Promise.all(proposed);
    const records = hopLedger
      .drain()
      .records.filter((r) => r.node === target.id && r.term === target.currentTerm);
    const lastProposed = Math.max(...records.filter((r) => r.step === 'propose').map((r) => r.index));
    const followers = ids.filter((id) => id !== target.id);
    const firstAppends = followers.map((to) =>
      records.find((r) => r.step === 'append.queued' && r.peer === to),
    );
    expect(firstAppends.map((r) => r?.index)).toEqual(followers.map(() => lastProposed));
  });
});

describe('RaftNode after its leader’s connection fails', () => {
  jest.setTimeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-node-lost-'));
  const ids = ['n1', 'n2', 'n3'];
  const nodes = new Map<string, RaftNode<number>>();

  // No early campaign, and a generous election timeout: the followers keep following the
  // stopped leader for at least two seconds, which is the window this test looks at.
  beforeAll(() => startNodes(root, ids, { electionTimeoutMs: 2000, fastFailover: false }, nodes));

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  it('names no leader while following one whose connection failed, until a new leader is known', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader), 20_000);
    const followers = [...nodes.values()].filter((n) => n !== leader);
    await waitFor('the followers to know the leader', () =>
      followers.every((f) => f.leaderId === leader.id) ? true : undefined,
    );
    await leader.stop();
    // Well within the election timeout: the followers have not campaigned, yet they no longer send
    // anyone (writes, clients) to the leader whose connection they saw fail.
    await waitFor(
      'the followers to stop naming the stopped leader',
      () => (followers.every((f) => f.leaderId === '' && f.status().leader === '') ? true : undefined),
      1000,
    );
    for (const f of followers) expect(f.status().role).toBe('follower');
    const next = await waitFor('a new leader', () => followers.find((n) => n.isLeader), 20_000);
    await waitFor('the other follower to name the new leader', () =>
      followers.every((f) => f.leaderId === next.id) ? true : undefined,
    );
  });
});

describe('RaftNode behind its leader’s compaction point', () => {
  jest.setTimeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-node-install-'));
  const ids = ['n1', 'n2', 'n3'];
  const nodes = new Map<string, RaftNode<number>>();
  const machines = new Map<string, LogMachine>();
  let configs = new Map<string, RaftNodeConfig>();

  // Every 50 entries a snapshot, and no tail kept: a follower that missed them needs a snapshot.
  beforeAll(async () => {
    configs = await startNodes(
      root,
      ids,
      { snapshotEntries: 50, snapshotTailEntries: 0 },
      nodes,
      machines,
      () => new SlicedLogMachine(),
    );
  });

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  it('installs the leader’s snapshot a slice per turn through the state machine’s beginRestore', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader), 20_000);
    const behind = ids.find((id) => id !== leader.id)!;
    await nodes.get(behind)!.stop();
    await Promise.all(Array.from({ length: 300 }, (_, i) => leader.propose(Buffer.from(`cmd-${i}`))));
    await waitFor('the leader to compact', () => (leader.status().snapshotIndex > 0 ? true : undefined));
    const machine = new SlicedLogMachine();
    machines.set(behind, machine);
    nodes.set(behind, await RaftNode.start(configs.get(behind)!, machine, quiet));
    await waitFor(
      'the restarted follower to catch up',
      () => (machine.applied.length === machines.get(leader.id)!.applied.length ? true : undefined),
      20_000,
    );
    expect(machine.applied).toEqual(machines.get(leader.id)!.applied);
    expect(machine.installs.length).toBeGreaterThan(0);
    for (const install of machine.installs) {
      expect(install.slices).toBe(Math.max(1, Math.ceil(install.items / SlicedLogMachine.slicedItemsMax)));
    }
    expect(machine.installs.some((install) => install.slices > 1)).toBe(true);
  });
});

describe('RaftNode compacting by log bytes', () => {
  jest.setTimeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-node-log-bytes-'));
  const ids = ['n1', 'n2', 'n3'];
  const nodes = new Map<string, RaftNode<number>>();
  const LOG_BYTES = 16_384;
  const ENTRY_BYTES = 1000;
  const CHUNK = 5;

  // Far too many entries between snapshots for the count to trigger one: only the bytes can.
  beforeAll(async () => {
    await startNodes(
      root,
      ids,
      { snapshotEntries: 100_000_000, entryBytesMax: 4096, snapshotLogBytes: LOG_BYTES },
      nodes,
    );
  });

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  it('takes a snapshot once snapshotLogBytes of entries were applied, keeping the log near 1.5 × that on every node', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader), 20_000);
    const entryBytes = ENTRY_BYTES + 24; // entrySizeBytes: the data plus 24 bytes of overhead
    for (let i = 0; i < 200; i += CHUNK) {
      await Promise.all(
        Array.from({ length: CHUNK }, (_, j) => leader.propose(Buffer.alloc(ENTRY_BYTES, i + j))),
      );
    }
    const last = leader.status().lastIndex;
    for (const node of nodes.values()) {
      await waitFor(`${node.id} to apply and compact`, () =>
        node.status().applied >= last && node.status().snapshotIndex > 0 && node.status().lastCompaction
          ? true
          : undefined,
      );
      const status = node.status();
      // Not one snapshot at the end: one every ~16 entries of ~1 KiB.
      expect(status.snapshotIndex).toBeGreaterThan(last - 2 * Math.ceil(LOG_BYTES / entryBytes) - CHUNK);
      // The tail (at most half) plus what was applied since the last capture (under the bound plus one chunk).
      expect(status.logBytes).toBeLessThanOrEqual(1.5 * LOG_BYTES + CHUNK * entryBytes);
      expect(status.lastIndex - status.firstIndex + 1).toBeLessThan(200);
    }
  });
});

describe('RaftNode catching up on a long log', () => {
  jest.setTimeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-node-catch-up-'));
  const ids = ['n1', 'n2', 'n3'];
  const nodes = new Map<string, RaftNode<number>>();
  const machines = new Map<string, LogMachine>();
  let configs = new Map<string, RaftNodeConfig>();

  beforeAll(async () => {
    configs = await startNodes(root, ids, {}, nodes, machines);
  });

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  it('applies what one Ready hands out in turns, letting the event loop run between them', async () => {
    const leader = await waitFor('a leader', () => [...nodes.values()].find((n) => n.isLeader), 20_000);
    const behind = ids.find((id) => id !== leader.id)!;
    await nodes.get(behind)!.stop();
    const entries = 300;
    await Promise.all(Array.from({ length: entries }, (_, i) => leader.propose(Buffer.from(`cmd-${i}`))));
    // Restarted, it learns the commit index and gets the 300 small entries in one or two Readies.
    const machine = new SlowLogMachine();
    machines.set(behind, machine);
    nodes.set(behind, await RaftNode.start(configs.get(behind)!, machine, quiet));
    await waitFor(
      'the restarted follower to catch up',
      () => (machine.applied.length >= entries ? true : undefined),
      30_000,
    );
    expect(machine.applied.slice(-entries)).toEqual(machines.get(leader.id)!.applied.slice(-entries));
    // 1 ms each against a turn of APPLY_TURN_MS_MAX (10 ms): about 10 a turn, never all 300.
    expect(machine.appliedPerTurnMax).toBeLessThanOrEqual(50);
  });
});
