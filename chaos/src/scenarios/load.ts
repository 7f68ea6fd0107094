import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import type { ErrorObject } from 'ajv';
import { LineCounter, isNode, parseDocument } from 'yaml';
import type { FaultSpec, NodeClock, Scenario, SloSpec } from './schema';
import { SCENARIOS_SCHEMA } from './schema';

/** ScenarioError is a chaos-scenarios.yaml that does not parse or validate; the message names file:line:column. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** DEFAULT_SCENARIO fills what a scenario leaves out. */
export const DEFAULT_SCENARIO = {
  nodes: 3,
  durationS: 30,
  electionTimeoutMs: 1500,
  workload: { workers: 3, scopes: 2, ttlMs: 2000, clocks: [] },
} as const;

const validate = new Ajv({
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
}).compile(SCENARIOS_SCHEMA);

/** pathOf turns ajv's `/scenarios/0/faults/1` into yaml's path ['scenarios', 0, 'faults', 1]. */
function pathOf(pointer: string): Array<string | number> {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'the file' : e.instancePath;
  if (e.keyword === 'additionalProperties') {
    return `${where}: unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  }
  if (e.keyword === 'enum') {
    return `${where} ${e.message ?? ''}: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  }
  if (e.keyword === 'oneOf') return `${where}: give either "at" or "random", not both`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/**
 * parseScenarios parses and validates the text of chaos-scenarios.yaml and fills in defaults. A
 * YAML error or a schema violation throws ScenarioError naming `file:line:column` of the value
 * at fault (the first few problems, one per line); so does a duplicated scenario name and a
 * random window that ends before it starts.
 */
export function parseScenarios(text: string, file: string): Scenario[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((e) => `${at(e.pos[0])}: ${e.message.split('\n')[0] ?? ''}`).join('\n'),
    );
  }
  const lineOf = (path: Array<string | number>): string => {
    for (let p = path; p.length >= 0; p = p.slice(0, -1)) {
      const node = p.length === 0 ? doc.contents : doc.getIn(p, true);
      if (isNode(node) && node.range !== undefined && node.range !== null) return at(node.range[0]);
      if (p.length === 0) break;
    }
    return `${file}:1:1`;
  };
  const value: unknown = doc.toJS();
  if (!validate(value)) {
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if');
    throw new ScenarioError(
      errors
        .slice(0, 10)
        .map((e) => `${lineOf(pathOf(e.instancePath))}: ${describe(e)}`)
        .join('\n'),
    );
  }
  const raw = (value as { scenarios: Array<Record<string, unknown>> }).scenarios;
  const seen = new Set<string>();
  return raw.map((s, index) => {
    const name = s['name'] as string;
    if (seen.has(name))
      throw new ScenarioError(
        `${lineOf(['scenarios', index, 'name'])}: scenario "${name}" is declared twice`,
      );
    seen.add(name);
    const faults = s['faults'] as FaultSpec[];
    faults.forEach((f, i) => {
      if (f.random !== undefined && f.random.to < f.random.from) {
        throw new ScenarioError(
          `${lineOf(['scenarios', index, 'faults', i, 'random'])}: random.to ends before random.from`,
        );
      }
    });
    faults.forEach((f, i) => {
      if (f.kind === 'client-clock-jump' && !((f.offsetMs ?? 0) > 0)) {
        throw new ScenarioError(
          `${lineOf(['scenarios', index, 'faults', i])}: a client-clock-jump needs offsetMs > 0 (a worker's monotonic clock never steps back)`,
        );
      }
    });
    const given = (s['workload'] ?? {}) as Partial<Scenario['workload']>;
    const workload: Scenario['workload'] = {
      ...DEFAULT_SCENARIO.workload,
      ...given,
      clocks: (given.clocks ?? []).map((c) => ({
        worker: c.worker,
        offsetMs: c.offsetMs ?? 0,
        rate: c.rate ?? 1,
      })),
    };
    workload.clocks.forEach((c, i) => {
      if (c.worker > workload.workers) {
        throw new ScenarioError(
          `${lineOf(['scenarios', index, 'workload', 'clocks', i, 'worker'])}: worker ${c.worker} does not exist (workers: ${workload.workers})`,
        );
      }
    });
    const nodes = (s['nodes'] as 3 | 5 | undefined) ?? DEFAULT_SCENARIO.nodes;
    const nodeClocks = ((s['nodeClocks'] ?? []) as Array<Partial<NodeClock> & { node: number }>).map((c) => ({
      node: c.node,
      offsetMs: c.offsetMs ?? 0,
      rate: c.rate ?? 1,
    }));
    nodeClocks.forEach((c, i) => {
      if (c.node > nodes) {
        throw new ScenarioError(
          `${lineOf(['scenarios', index, 'nodeClocks', i, 'node'])}: node ${c.node} does not exist (nodes: ${nodes})`,
        );
      }
    });
    const leader = s['leader'] as number | undefined;
    if (leader !== undefined && leader > nodes) {
      throw new ScenarioError(
        `${lineOf(['scenarios', index, 'leader'])}: node ${leader} does not exist (nodes: ${nodes})`,
      );
    }
    // A node on its own clock fakes its monotonic clock: its rate is fixed for the process's life,
    // and a clock-skew or clock-jump fault would step it (libfaketime applies rates from the start).
    faults.forEach((f, i) => {
      if (nodeClocks.length > 0 && (f.kind === 'clock-skew' || f.kind === 'clock-jump')) {
        throw new ScenarioError(
          `${lineOf(['scenarios', index, 'faults', i])}: a ${f.kind} cannot run with nodeClocks (a node's own clock never steps or changes rate)`,
        );
      }
    });
    return {
      name,
      description: (s['description'] as string | undefined) ?? '',
      suite: s['suite'] as Scenario['suite'],
      nodes,
      durationS: (s['durationS'] as number | undefined) ?? DEFAULT_SCENARIO.durationS,
      electionTimeoutMs: (s['electionTimeoutMs'] as number | undefined) ?? DEFAULT_SCENARIO.electionTimeoutMs,
      workload,
      nodeClocks,
      leader,
      faults,
      slo: (s['slo'] as SloSpec[] | undefined) ?? [],
      broken: s['broken'] as Scenario['broken'],
      expect:
        (s['expect'] as Scenario['expect'] | undefined) ?? (s['broken'] === undefined ? 'valid' : 'invalid'),
    };
  });
}

/** loadScenarios reads and parses a scenarios file (see parseScenarios). */
export function loadScenarios(file: string): Scenario[] {
  return parseScenarios(readFileSync(file, 'utf8'), file);
}
