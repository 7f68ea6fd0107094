/**
 * heap-summary reads a V8 heap snapshot (`npm run bench -- scale --heap-snapshot DIR` writes one
 * per node) and prints what fills the heap: its objects grouped by kind, constructor and their
 * first property names (so two shapes of plain Object are told apart), largest self size first,
 * with their count. Strings, numbers and code are grouped by kind alone.
 *
 *   node -r @swc-node/register bench/scale/heap-summary.ts FILE.heapsnapshot [GROUPS]
 */
import { readFileSync } from 'node:fs';

/** PROPERTIES_SHOWN is how many of an object's property names name its group. */
const PROPERTIES_SHOWN = 6;

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[], ...unknown[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[], ...unknown[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

/** LEAF_KINDS are the node kinds grouped by kind alone. */
const LEAF_KINDS = new Set(['string', 'concatenated string', 'sliced string', 'number', 'code', 'bigint']);

function summarize(file: string, groupsShown: number): void {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const meta = s.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const kinds = meta.node_types[0];
  const edgeKinds = meta.edge_types[0];
  const kindAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeKindAt = meta.edge_fields.indexOf('type');
  const edgeNameAt = meta.edge_fields.indexOf('name_or_index');
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  let objects = 0;
  let edge = 0;
  for (let i = 0; i < s.nodes.length; i += nodeFields) {
    const kind = kinds[s.nodes[i + kindAt]!]!;
    const edges = s.nodes[i + edgeCountAt]!;
    let key: string;
    if (LEAF_KINDS.has(kind)) key = `(${kind})`;
    else {
      const names: string[] = [];
      for (let e = edge; e < edge + edges && names.length < PROPERTIES_SHOWN; e++) {
        if (edgeKinds[s.edges[e * edgeFields + edgeKindAt]!] === 'property') {
          names.push(s.strings[s.edges[e * edgeFields + edgeNameAt]!]!);
        }
      }
      const name = s.strings[s.nodes[i + nameAt]!]!.slice(0, 60);
      key = `${kind} ${name}${names.length > 0 ? ` {${names.join(', ')}}` : ''}`;
    }
    edge += edges;
    const bytes = s.nodes[i + sizeAt]!;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += bytes;
    groups.set(key, g);
    total += bytes;
    objects++;
  }
  console.log(`${file}: ${objects} nodes, ${(total / 2 ** 20).toFixed(1)} MiB self size in all`);
  console.log('| MiB | count | kind, constructor {first properties} |');
  console.log('|---:|---:|---|');
  const largest = [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, groupsShown);
  for (const [key, g] of largest) console.log(`| ${(g.bytes / 2 ** 20).toFixed(2)} | ${g.count} | ${key} |`);
}

const [file, shown] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node -r @swc-node/register bench/scale/heap-summary.ts FILE.heapsnapshot [GROUPS]');
  process.exit(2);
}
summarize(file, Number(shown ?? 30));
