import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupRegistry } from '../harness/cleanup';
import type { FakeClock } from '../harness/clocks';
import type { SmallDisk } from '../harness/disk';
import type { NftPartitions, Cut } from '../harness/partitions';
import { partitionCuts } from '../harness/partitions';
import { ManagedProcess } from '../harness/processes';
import { Prng } from '../harness/prng';
import type { PlannedFault } from '../scenarios/schedule';
import { stopBeforeWriteWorker } from '../scenarios/schedule';
import type { ChaosCluster } from './cluster';
import type { Timeline } from './timeline';
import { CLIENT_HOST, REPO_ROOT, SWC_ENV, swcArgs } from './topology';

/** FaultContext is what faults act on. */
export interface FaultContext {
  readonly cluster: ChaosCluster;
  readonly workers: ReadonlyMap<string, ManagedProcess>;
  readonly workerCount: number;
  readonly timeline: Timeline;
  readonly nft: NftPartitions | undefined;
  readonly clocks: ReadonlyMap<string, FakeClock>;
  /** workerClocks are the clocks of the workers that run on their own (workload.clocks). */
  readonly workerClocks: ReadonlyMap<string, FakeClock>;
  readonly disks: ReadonlyMap<string, SmallDisk>;
  /** joiners are node ids laid out for membership changes, not yet started. */
  readonly joiners: string[];
  readonly progress: (line: string) => void;
  /** runDir is the run folder (the CLI's output goes to its logs/cli.log). */
  readonly runDir: string;
  readonly cleanup: CleanupRegistry;
}

/** CLI_TIMEOUT_MS is the CLI's --timeout for one membership change with --wait (catch-up included). */
export const CLI_TIMEOUT_MS = 30_000;

/** CLI_EXIT_GRACE_MS is how long past its --timeout a CLI process may run before it is stopped. */
export const CLI_EXIT_GRACE_MS = 15_000;

/** HOLDER_LOOKS_MAX bounds how often a holder fault looks for a worker that holds a lease. */
export const HOLDER_LOOKS_MAX = 40;

/** STOP_LOOKS_MAX bounds how often (every 50 ms) a stop-before-write fault looks for the stopped worker. */
export const STOP_LOOKS_MAX = 200;

/** stoppedState says whether process `pid` is stopped (state T in /proc/<pid>/stat). */
function stoppedState(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T') === true;
  } catch {
    return false;
  }
}

/** Heal ends a fault (undefined for faults without one). */
export type Heal = (() => Promise<void>) | undefined;

/** holders returns the workers that hold a lease now, with their scopes (from GET /control/leaders). */
async function holders(ctx: FaultContext): Promise<Map<string, string[]>> {
  const byWorker = new Map<string, string[]>();
  const leader = await ctx.cluster.leader();
  if (leader === undefined) return byWorker;
  try {
    const answer = await ctx.cluster.http(leader, 'GET', '/control/leaders');
    // The lease token names the holder `leaderId` (DISC-002); older servers said `candidateId`.
    const body = answer.body as {
      holders?: Array<{ scope: string; leaderId?: string; candidateId?: string }>;
    };
    for (const lease of body.holders ?? []) {
      const who = lease.leaderId ?? lease.candidateId ?? '';
      // A worker killed earlier may still be the holder until its lease expires: not a target.
      if (ctx.workers.get(who)?.running !== true) continue;
      byWorker.set(who, [...(byWorker.get(who) ?? []), lease.scope]);
    }
  } catch {
    // no answer: no known holder
  }
  return byWorker;
}

/** cut applies directed cuts: nft in namespaces (unless `viaProxy`), else the link proxies. */
function cut(ctx: FaultContext, cuts: readonly Cut[], viaProxy: boolean): () => void {
  if (ctx.nft !== undefined && !viaProxy) {
    const id = ctx.nft.apply(cuts);
    return () => ctx.nft?.heal(id);
  }
  const t = ctx.cluster.topology;
  for (const c of cuts) {
    t.setLink(c.from, c.to, { upstream: 'blackhole' });
    t.setLink(c.to, c.from, { downstream: 'blackhole' });
  }
  return () => {
    for (const c of cuts) {
      t.setLink(c.from, c.to, { upstream: 'pass' });
      t.setLink(c.to, c.from, { downstream: 'pass' });
    }
  };
}

async function leaderOrThrow(ctx: FaultContext): Promise<string> {
  return ctx.cluster.waitForLeader(15_000);
}

/**
 * applyFault makes one planned fault happen, writes it to the timeline, and returns its heal
 * (which writes the heal record). Choices (which follower, which holder) come from the fault's seed.
 */
export async function applyFault(f: PlannedFault, ctx: FaultContext): Promise<Heal> {
  const prng = new Prng(f.choiceSeed);
  const { cluster, timeline } = ctx;
  const members = (): string[] => cluster.members.filter((m) => cluster.processes.get(m)?.running === true);
  const follower = async (): Promise<string> => {
    const l = await leaderOrThrow(ctx);
    return prng.pick(members().filter((m) => m !== l));
  };
  const healWith =
    (target: string, undo: () => Promise<void> | void): Heal =>
    async () => {
      await undo();
      timeline.heal(f.kind, target);
    };
  switch (f.kind) {
    case 'kill-leader':
    case 'kill-follower': {
      const target = f.kind === 'kill-leader' ? await leaderOrThrow(ctx) : await follower();
      timeline.fault(f.kind, target);
      await cluster.process(target).kill();
      return healWith(target, () => cluster.start(target));
    }
    case 'pause-leader': {
      const target = await leaderOrThrow(ctx);
      timeline.fault(f.kind, target);
      cluster.process(target).pause();
      return healWith(target, () => cluster.process(target).resume());
    }
    case 'kill-holder':
    case 'pause-holder': {
      // Workers hold leases a moment at a time: look a few times (bounded) for one that holds now.
      // A scenario that names the worker waits (bounded) until that one holds.
      const named = f.worker === undefined ? undefined : `w${f.worker}`;
      const wanted = (h: Map<string, string[]>): boolean => (named === undefined ? h.size > 0 : h.has(named));
      let held = await holders(ctx);
      for (let i = 0; i < HOLDER_LOOKS_MAX && !wanted(held); i++) {
        await new Promise((r) => setTimeout(r, 50));
        held = await holders(ctx);
      }
      const alive = [...ctx.workers.keys()].filter((w) => ctx.workers.get(w)?.running === true).sort();
      if (alive.length === 0) throw new Error('no worker left to fault');
      if (named !== undefined && !alive.includes(named)) throw new Error(`${named} does not run`);
      const candidates = named === undefined ? [...held.keys()].sort() : [named];
      const target = prng.pick(candidates.length > 0 ? candidates : alive);
      const worker = ctx.workers.get(target)!;
      timeline.fault(f.kind, target, held.get(target) ?? []);
      if (f.kind === 'kill-holder') {
        await worker.kill();
        return undefined;
      }
      worker.pause();
      return healWith(target, () => worker.resume());
    }
    case 'partition-leader':
    case 'partition-minority':
    case 'partition-bridge':
    case 'partition-one-way': {
      const l = await leaderOrThrow(ctx);
      const nodes = members();
      const others = nodes.filter((n) => n !== l);
      let cuts: Cut[];
      let target = l;
      if (f.kind === 'partition-leader') {
        cuts = partitionCuts({ kind: 'isolate', node: l }, nodes);
      } else if (f.kind === 'partition-minority') {
        const minority = [l, ...others.filter(() => prng.next() < 0.5)].slice(
          0,
          Math.floor(nodes.length / 2),
        );
        target = minority.join('+');
        cuts = partitionCuts({ kind: 'split', side: minority }, nodes);
      } else if (f.kind === 'partition-bridge') {
        target = prng.pick(others);
        cuts = partitionCuts({ kind: 'bridge', node: target }, nodes);
      } else {
        const to = prng.pick(others);
        target = `${l}->${to}`;
        cuts = partitionCuts({ kind: 'one-way', from: l, to }, nodes);
      }
      timeline.fault(f.kind, target);
      // A one-way cut must drop messages, not packets: TCP needs both ways, so it is done in the proxies.
      return healWith(target, cut(ctx, cuts, f.kind === 'partition-one-way'));
    }
    case 'latency': {
      const t = cluster.topology;
      const links = [...t.nodes.values()].flatMap((n) =>
        Object.keys(n.peersVia).map((to) => [n.id, to] as const),
      );
      timeline.fault(f.kind, 'all');
      for (const [from, to] of links) t.setLink(from, to, { latencyMs: f.latencyMs, jitterMs: f.jitterMs });
      return healWith('all', () => {
        for (const [from, to] of links) t.setLink(from, to, { latencyMs: 0, jitterMs: 0 });
      });
    }
    case 'drop-connection': {
      const l = await leaderOrThrow(ctx);
      timeline.fault(f.kind, l);
      for (const other of members().filter((m) => m !== l)) {
        cluster.topology.resetLink(l, other);
        cluster.topology.resetLink(other, l);
      }
      return undefined;
    }
    case 'clock-skew':
    case 'clock-jump': {
      const target = prng.pick([...ctx.clocks.keys()].sort());
      const clock = ctx.clocks.get(target)!;
      const before = clock.current();
      timeline.fault(f.kind, target);
      if (f.kind === 'clock-skew') {
        clock.set({ offsetMs: f.offsetMs, rate: f.rate });
        return undefined;
      }
      clock.set({ offsetMs: before.offsetMs + f.offsetMs, rate: before.rate });
      return healWith(target, () => clock.set(before));
    }
    case 'client-clock-jump': {
      const running = [...ctx.workerClocks.keys()].filter((w) => ctx.workers.get(w)?.running === true);
      if (running.length === 0) throw new Error('no running worker has its own clock (workload.clocks)');
      const target = f.worker === undefined ? prng.pick(running.sort()) : `w${f.worker}`;
      if (!running.includes(target)) throw new Error(`${target} does not run on its own clock`);
      const clock = ctx.workerClocks.get(target)!;
      const before = clock.current();
      timeline.fault(f.kind, target);
      clock.set({ offsetMs: before.offsetMs + f.offsetMs, rate: before.rate });
      return undefined;
    }
    case 'disk-full':
    case 'disk-readonly': {
      const target = await leaderOrThrow(ctx);
      const disk = ctx.disks.get(target);
      if (disk === undefined) throw new Error(`node ${target} has no small disk (the run made none)`);
      timeline.fault(f.kind, target);
      // A node whose store write failed stops with a storage exit code (by design): the heal
      // gives the space or write access back and restarts it, as an operator would.
      const restartIfStopped = (): void => {
        if (!cluster.process(target).running) cluster.start(target);
      };
      if (f.kind === 'disk-full') {
        disk.fill();
        return healWith(target, () => {
          disk.free();
          restartIfStopped();
        });
      }
      // Linux refuses to remount a file system read-only while files on it are open for
      // writing (EBUSY), and LevelDB keeps its log open: so the node is killed, its disk
      // remounted read-only and the node started on it (it must refuse to run, with a clear
      // error); the heal kills whatever runs, remounts read-write and starts it again.
      await cluster.process(target).kill();
      disk.readOnly(true);
      cluster.start(target);
      return healWith(target, async () => {
        await cluster.process(target).kill();
        disk.readOnly(false);
        cluster.start(target);
      });
    }
    case 'wipe-data': {
      const target = await follower();
      timeline.fault(f.kind, target);
      await cluster.process(target).kill();
      cluster.wipe(target);
      await omnirelay(ctx, ['remove', target]);
      cluster.members.splice(cluster.members.indexOf(target), 1);
      await addMember(ctx, target);
      timeline.heal(f.kind, target);
      return undefined;
    }
    case 'membership-change': {
      const joiner = ctx.joiners.shift();
      if (joiner === undefined) throw new Error('no node left to add: the run laid out none');
      timeline.fault(f.kind, joiner);
      await addMember(ctx, joiner);
      const removed = await follower();
      if (removed !== joiner) {
        await omnirelay(ctx, ['remove', removed]);
        cluster.members.splice(cluster.members.indexOf(removed), 1);
        await cluster.process(removed).stop();
      }
      ctx.progress(`membership: added ${joiner}, removed ${removed}`);
      timeline.heal(f.kind, joiner);
      return undefined;
    }
    case 'transfer-leader': {
      const to = await follower();
      timeline.fault(f.kind, to);
      await changeMembership(ctx, '/cluster/transfer-leader', { to });
      return undefined;
    }
    case 'stop-before-write': {
      const target = stopBeforeWriteWorker(f, ctx.workerCount);
      const worker = ctx.workers.get(target)!;
      // The worker stops itself at its first write after the fault's time: wait (bounded) for it.
      for (let i = 0; i < STOP_LOOKS_MAX && !stoppedState(worker.pid); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!stoppedState(worker.pid)) throw new Error(`${target} did not stop itself before a write`);
      const held = await holders(ctx);
      timeline.fault(f.kind, target, held.get(target) ?? []);
      worker.pause();
      return healWith(target, () => worker.resume());
    }
    case 'restart-all': {
      const nodes = members();
      timeline.restart();
      await Promise.all(nodes.map((n) => cluster.process(n).kill()));
      for (const n of nodes) cluster.start(n);
      await cluster.waitForLeader();
      return undefined;
    }
  }
}

async function changeMembership(ctx: FaultContext, path: string, body: unknown): Promise<void> {
  const answer = await ctx.cluster.leaderCall(path, body);
  if (answer.status < 200 || answer.status >= 300) {
    throw new Error(
      `POST ${path} ${JSON.stringify(body)} failed: ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
}

/**
 * omnirelay runs `omnirelay cluster <args> --wait` (the CLI from packages/cli, through swc) in the
 * client namespace against the current members, as an operator would, and throws unless it exits 0
 * (its output is in logs/cli.log).
 */
async function omnirelay(ctx: FaultContext, args: readonly string[]): Promise<void> {
  const { cluster } = ctx;
  const t = cluster.topology;
  const endpoints = cluster.members.map((id) => `${t.node(id).grpc.host}:${t.node(id).grpc.port}`);
  const cli = new ManagedProcess(
    {
      name: `omnirelay-cluster-${args.join('-')}`,
      argv: [
        ...t.execPrefix(CLIENT_HOST),
        ...swcArgs(join(REPO_ROOT, 'packages/cli/src/main.ts')),
        '--endpoints',
        endpoints.join(','),
        '--timeout',
        String(CLI_TIMEOUT_MS),
        'cluster',
        ...args,
        '--wait',
      ],
      env: SWC_ENV,
      logFile: join(ctx.runDir, 'logs', 'cli.log'),
    },
    ctx.cleanup,
  );
  cli.start();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    cli.exited(),
    new Promise((r) => (timer = setTimeout(r, CLI_TIMEOUT_MS + CLI_EXIT_GRACE_MS))),
  ]);
  clearTimeout(timer);
  await cli.stop();
  const exit = cli.exits[cli.exits.length - 1];
  if (exit !== 'code 0') {
    throw new Error(
      `omnirelay cluster ${args.join(' ')} --wait ended with ${exit ?? 'no exit'} (logs/cli.log)`,
    );
  }
  ctx.progress(`omnirelay cluster ${args.join(' ')} --wait: done`);
}

/** addMember starts `id` waiting to join, adds it as a learner and promotes it, with the CLI (--wait: caught up). */
async function addMember(ctx: FaultContext, id: string): Promise<void> {
  const { cluster } = ctx;
  const n = cluster.topology.node(id);
  const a = (x: { host: string; port: number }): string => `${x.host}:${x.port}`;
  cluster.start(id, { join: true });
  await omnirelay(ctx, [
    'add-learner',
    id,
    a(n.peer),
    '--client-address',
    a(n.client),
    '--grpc-address',
    a(n.grpc),
  ]);
  await omnirelay(ctx, ['promote', id]);
  cluster.members.push(id);
}
