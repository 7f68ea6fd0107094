import { randomBytes } from 'node:crypto';
import type { CleanupRegistry } from './cleanup';
import { isRoot, run, tryRun } from './shell';

/** NETNS_PREFIX starts the name of every namespace the harness makes: `orc-<pid>-<runId>-<host>`. */
export const NETNS_PREFIX = 'orc-';
/** BRIDGE_PREFIX starts the name of every bridge the harness makes: `orb<runId>` (interface names are ≤ 15 bytes). */
export const BRIDGE_PREFIX = 'orb';
/** SUBNET_PREFIX is the /24 the hosts' addresses come from; they exist only inside the namespaces. */
export const SUBNET_PREFIX = '10.77.0';
/** HOSTS_MAX bounds the hosts of one network (nodes, joiners and one client host). */
export const HOSTS_MAX = 30;

/** NetHost is one host of a harness network: its namespace and its address inside it. */
export interface NetHost {
  readonly name: string;
  readonly netns: string;
  readonly address: string;
}

/** Network is a bridge with one namespace per host, joined by veth pairs. */
export interface Network {
  readonly runId: string;
  readonly bridge: string;
  readonly hosts: readonly NetHost[];
  /** host returns the host called `name`. */
  host(name: string): NetHost;
  /** exec returns the argv prefix that runs a command inside the host's namespace. */
  exec(name: string): string[];
  /** destroy removes the namespaces and the bridge (idempotent). */
  destroy(): void;
}

/** newRunId returns a short random id (6 hex digits) that names a run's namespaces, bridge and nft table. */
export function newRunId(): string {
  return randomBytes(3).toString('hex');
}

/** listNamespaces returns the names of the network namespaces (`ip netns list`). */
export function listNamespaces(): string[] {
  return (tryRun('ip', ['netns', 'list']) ?? '')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/**
 * netnsAvailable says whether this process can create network namespaces: root, `ip` present and
 * a probe namespace that can be added and removed. Without them the harness runs on loopback.
 */
export function netnsAvailable(): boolean {
  if (!isRoot()) return false;
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  if (tryRun('ip', ['netns', 'add', probe]) === undefined) return false;
  tryRun('ip', ['netns', 'del', probe]);
  return true;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * sweepLeftovers removes what runs whose process is gone left behind: namespaces named
 * `orc-<pid>-<runId>-*` whose pid no longer runs, and their `orb<runId>` bridges. It returns the
 * namespaces it removed. Runs still alive (parallel runs) are left alone.
 */
export function sweepLeftovers(): string[] {
  const removed: string[] = [];
  const deadRuns = new Set<string>();
  for (const name of listNamespaces()) {
    const match = /^orc-(\d+)-([0-9a-f]+|probe)(?:-|$)/.exec(name);
    if (match === null) continue;
    if (pidAlive(Number(match[1]))) continue;
    if (tryRun('ip', ['netns', 'del', name]) !== undefined) removed.push(name);
    if (match[2] !== undefined) deadRuns.add(match[2]);
  }
  for (const runId of deadRuns) tryRun('ip', ['link', 'del', `${BRIDGE_PREFIX}${runId}`]);
  return removed;
}

/**
 * createNetwork makes a bridge and one namespace per host name, each joined to the bridge by a
 * veth pair, with `lo` up and the address 10.77.0.<i+1>/24 on its `eth0`. The host namespace gets
 * no address. Its undo step is registered in `cleanup` before anything is made, so a failure half
 * way still removes what was made.
 */
export function createNetwork(
  hostNames: readonly string[],
  cleanup: CleanupRegistry,
  runId = newRunId(),
): Network {
  if (hostNames.length < 1 || hostNames.length > HOSTS_MAX) {
    throw new RangeError(`a network has 1..${HOSTS_MAX} hosts, got ${hostNames.length}`);
  }
  const bridge = `${BRIDGE_PREFIX}${runId}`;
  const hosts: NetHost[] = hostNames.map((name, i) => ({
    name,
    netns: `${NETNS_PREFIX}${process.pid}-${runId}-${name}`,
    address: `${SUBNET_PREFIX}.${i + 1}`,
  }));
  const destroy = (): void => {
    for (const h of hosts) tryRun('ip', ['netns', 'del', h.netns]);
    tryRun('ip', ['link', 'del', bridge]);
  };
  cleanup.add(`network ${runId}`, destroy);
  run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  run('ip', ['link', 'set', bridge, 'up']);
  hosts.forEach((h, i) => {
    const outside = `orv${runId}${i}`;
    run('ip', ['netns', 'add', h.netns]);
    run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
    run('ip', ['link', 'set', outside, 'master', bridge]);
    run('ip', ['link', 'set', outside, 'up']);
    run('ip', ['-n', h.netns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0']);
    run('ip', ['-n', h.netns, 'link', 'set', 'eth0', 'up']);
  });
  return {
    runId,
    bridge,
    hosts,
    host(name) {
      const h = hosts.find((x) => x.name === name);
      if (h === undefined) throw new RangeError(`no host ${name} in network ${runId}`);
      return h;
    },
    exec(name) {
      return ['ip', 'netns', 'exec', this.host(name).netns];
    },
    destroy,
  };
}
