import type { CleanupRegistry } from './cleanup';
import { run, tryRun } from './shell';

/** Cut is one directed link that a partition breaks: nothing `from` sends reaches `to`. */
export interface Cut {
  readonly from: string;
  readonly to: string;
}

/**
 * PartitionShape names a partition of the nodes:
 * - `split`: the two sides (every node not in `side` is on the other) cannot reach each other;
 * - `one-way`: `from` cannot reach `to`, `to` still reaches `from`;
 * - `isolate`: `node` (the leader, say) reaches no one and no one reaches it;
 * - `bridge`: the others are split in two halves that reach each other only through `node`.
 */
export type PartitionShape =
  | { readonly kind: 'split'; readonly side: readonly string[] }
  | { readonly kind: 'one-way'; readonly from: string; readonly to: string }
  | { readonly kind: 'isolate'; readonly node: string }
  | { readonly kind: 'bridge'; readonly node: string };

function across(a: readonly string[], b: readonly string[]): Cut[] {
  return a.flatMap((x) =>
    b.flatMap((y) => [
      { from: x, to: y },
      { from: y, to: x },
    ]),
  );
}

/** partitionCuts returns the directed links `shape` breaks among `nodes` (a pure function). */
export function partitionCuts(shape: PartitionShape, nodes: readonly string[]): Cut[] {
  const known = (id: string): string => {
    if (!nodes.includes(id)) throw new RangeError(`partition names ${id}, not one of ${nodes.join(', ')}`);
    return id;
  };
  switch (shape.kind) {
    case 'split': {
      shape.side.forEach(known);
      return across(
        shape.side,
        nodes.filter((n) => !shape.side.includes(n)),
      );
    }
    case 'one-way':
      return [{ from: known(shape.from), to: known(shape.to) }];
    case 'isolate':
      return across(
        [known(shape.node)],
        nodes.filter((n) => n !== shape.node),
      );
    case 'bridge': {
      const others = nodes.filter((n) => n !== known(shape.node));
      const half = Math.ceil(others.length / 2);
      return across(others.slice(0, half), others.slice(half));
    }
  }
}

/** nftTableName is the run's own nft table (inside each namespace), so nothing else's rules are touched. */
export function nftTableName(runId: string): string {
  return `orc_${runId}`;
}

/**
 * NftPartitions applies partitions as nftables rules inside the hosts' namespaces: a cut from→to
 * is a drop of packets to `to`'s address in the output hook of `from`'s namespace. Each partition
 * gets its own chain in the run's table, so heal removes exactly the rules it added.
 */
export class NftPartitions {
  private next = 1;
  private readonly tables = new Set<string>();
  private readonly open = new Map<number, Array<{ netns: string; chain: string }>>();

  constructor(
    private readonly runId: string,
    private readonly hostOf: (node: string) => { readonly netns: string; readonly address: string },
    cleanup: CleanupRegistry,
  ) {
    cleanup.add(`nft tables ${runId}`, () => this.removeAll());
  }

  /** apply adds the drop rules of `cuts` and returns the partition's id for heal. */
  apply(cuts: readonly Cut[]): number {
    const id = this.next++;
    const chain = `p${id}`;
    const table = nftTableName(this.runId);
    const byNetns = new Map<string, string[]>();
    for (const cut of cuts) {
      const { netns } = this.hostOf(cut.from);
      const list = byNetns.get(netns) ?? [];
      list.push(this.hostOf(cut.to).address);
      byNetns.set(netns, list);
    }
    const added: Array<{ netns: string; chain: string }> = [];
    this.open.set(id, added);
    for (const [netns, addresses] of byNetns) {
      const script = [
        `add table inet ${table}`,
        `add chain inet ${table} ${chain} { type filter hook output priority 0; policy accept; }`,
        ...addresses.map((a) => `add rule inet ${table} ${chain} ip daddr ${a} drop`),
      ].join('\n');
      run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], `${script}\n`);
      this.tables.add(netns);
      added.push({ netns, chain });
    }
    return id;
  }

  /** heal removes the chains partition `id` added (unknown or healed ids do nothing). */
  heal(id: number): void {
    const added = this.open.get(id);
    if (added === undefined) return;
    this.open.delete(id);
    const table = nftTableName(this.runId);
    for (const { netns, chain } of added) {
      tryRun('ip', ['netns', 'exec', netns, 'nft', 'delete', 'chain', 'inet', table, chain]);
    }
  }

  /** removeAll deletes the run's table in every namespace it touched (idempotent). */
  removeAll(): void {
    const table = nftTableName(this.runId);
    for (const netns of this.tables)
      tryRun('ip', ['netns', 'exec', netns, 'nft', 'delete', 'table', 'inet', table]);
    this.tables.clear();
    this.open.clear();
  }
}
