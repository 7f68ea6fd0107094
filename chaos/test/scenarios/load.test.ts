import { join } from 'node:path';
import { loadScenarios, parseScenarios } from '../../src/scenarios/load';

const FILE = join(__dirname, '../../chaos-scenarios.yaml');

function errorOf(text: string): string {
  try {
    parseScenarios(text, 'x.yaml');
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
}

/** oneScenario is a scenarios file with one short scenario "a" whose remaining lines are `lines`. */
function oneScenario(...lines: string[]): string {
  return ['version: 1', 'scenarios:', '  - name: a', '    suite: short', ...lines].join('\n');
}

describe('parseScenarios', () => {
  it('reads chaos-scenarios.yaml, with the short suite the issue asks for', () => {
    const scenarios = loadScenarios(FILE);
    expect(scenarios.filter((s) => s.suite === 'short').map((s) => s.name)).toEqual([
      'leader-kill',
      'leader-partition',
      'holder-pause',
      'clock-skew',
      'membership-change',
    ]);
    expect(scenarios.find((s) => s.name === 'broken-store')?.expect).toBe('invalid');
    expect(scenarios[0]?.workload).toEqual({ workers: 3, scopes: 2, ttlMs: 2000, clocks: [] });
    expect(scenarios.find((s) => s.name === 'client-clocks')?.workload.clocks).toContainEqual({
      worker: 3,
      offsetMs: 0,
      rate: 0.5,
    });
    const drift = scenarios.find((s) => s.name === 'node-clock-drift');
    expect(drift?.nodeClocks).toEqual([
      { node: 1, offsetMs: 0, rate: 1.1 },
      { node: 2, offsetMs: 0, rate: 0.9 },
    ]);
    expect(drift?.leader).toBe(1);
    expect(scenarios[0]?.nodeClocks).toEqual([]);
    expect(scenarios[0]?.leader).toBeUndefined();
  });

  it('names the line and column of an unknown field', () => {
    const text = oneScenario('    faults:', '      - { kind: kill-leader, at: 1, colour: red }');
    expect(errorOf(text)).toBe('x.yaml:6:9: /scenarios/0/faults/0: unknown field "colour"');
  });

  it('names the line of a value out of its allowed set', () => {
    const text = oneScenario('    nodes: 4', '    faults: []');
    expect(errorOf(text)).toBe(
      'x.yaml:5:12: /scenarios/0/nodes must be equal to one of the allowed values: 3, 5',
    );
  });

  it('refuses a fault with both a time and a random window', () => {
    const text = oneScenario(
      '    faults:',
      '      - kind: kill-leader',
      '        at: 1',
      '        random: { count: 1, from: 1, to: 2 }',
    );
    expect(errorOf(text)).toContain(
      'x.yaml:6:9: /scenarios/0/faults/0: give either "at" or "random", not both',
    );
  });

  it('names the line of a YAML syntax error and of a duplicated name', () => {
    expect(errorOf('version: 1\nscenarios: [\n')).toMatch(/^x\.yaml:3:1: /);
    const twice = [
      'version: 1',
      'scenarios:',
      '  - { name: a, suite: short, faults: [] }',
      '  - { name: a, suite: long, faults: [] }',
    ].join('\n');
    expect(errorOf(twice)).toBe('x.yaml:4:13: scenario "a" is declared twice');
  });

  it('refuses a client clock jump that is not forward, naming its line', () => {
    const text = oneScenario('    faults:', '      - { kind: client-clock-jump, at: 1, offsetMs: -10 }');
    expect(errorOf(text)).toBe(
      "x.yaml:6:9: a client-clock-jump needs offsetMs > 0 (a worker's monotonic clock never steps back)",
    );
  });

  it('refuses a clock for a worker the workload does not have, and a client skew past 250 ms', () => {
    const missing = oneScenario(
      '    workload: { workers: 2, clocks: [{ worker: 3, rate: 0.9 }] }',
      '    faults: []',
    );
    expect(errorOf(missing)).toBe('x.yaml:5:48: worker 3 does not exist (workers: 2)');
    const skew = oneScenario('    workload: { clocks: [{ worker: 1, offsetMs: 400 }] }', '    faults: []');
    expect(errorOf(skew)).toContain('/scenarios/0/workload/clocks/0/offsetMs must be <= 250');
  });

  it('refuses a node clock or a leader for a node the scenario does not have, and a node clock with clock faults', () => {
    const missing = oneScenario('    nodeClocks: [{ node: 4, rate: 1.1 }]', '    faults: []');
    expect(errorOf(missing)).toBe('x.yaml:5:26: node 4 does not exist (nodes: 3)');
    const leader = oneScenario('    leader: 5', '    faults: []');
    expect(errorOf(leader)).toBe('x.yaml:5:13: node 5 does not exist (nodes: 3)');
    const skewed = oneScenario(
      '    nodeClocks: [{ node: 1, rate: 1.1 }]',
      '    faults:',
      '      - { kind: clock-skew, at: 1, offsetMs: 100 }',
    );
    expect(errorOf(skewed)).toBe(
      "x.yaml:7:9: a clock-skew cannot run with nodeClocks (a node's own clock never steps or changes rate)",
    );
    const fast = oneScenario('    nodeClocks: [{ node: 1, offsetMs: 300 }]', '    faults: []');
    expect(errorOf(fast)).toContain('/scenarios/0/nodeClocks/0/offsetMs must be <= 250');
  });
});
