import { auditLines, parseSseBatches } from '../../src/runner/audit';
import type { RunReport } from '../../src/runner/report';
import { junitXml } from '../../src/runner/report';
import { replayCommand } from '../../src/runner/run-scenario';

function report(passed: boolean): RunReport {
  return {
    scenario: 'leader-kill',
    seed: 7,
    mode: 'loopback',
    broken: null,
    expected: 'valid',
    passed,
    durationMs: 1500,
    runDir: '/tmp/x',
    replay: replayCommand('leader-kill', 7, undefined),
    timeline: [],
    files: [],
    verdict: { verdict: 'unknown', error: 'a <bad> & "quoted" thing' },
    errors: [],
  };
}

describe('junitXml', () => {
  it('writes one test case per run, and a failure with the seed and the replay command', () => {
    const xml = junitXml([report(true), report(false)]);
    expect(xml).toContain('<testsuite name="chaos" tests="2" failures="1" time="3.000">');
    expect(xml).toContain('<testcase classname="chaos" name="leader-kill (seed 7)" time="1.500"/>');
    expect(xml).toContain('replay: npm run chaos -- --scenario leader-kill --seed 7');
    expect(xml).not.toContain('<bad>');
  });
});

describe('replayCommand', () => {
  it('names the duration and a scenarios file other than the default one when the run had them', () => {
    expect(replayCommand('leader-kill', 7, undefined)).toBe(
      'npm run chaos -- --scenario leader-kill --seed 7',
    );
    expect(replayCommand('x', 7, 20, '/tmp/s.yaml')).toBe(
      'npm run chaos -- --scenario x --seed 7 --duration 20 --scenarios /tmp/s.yaml',
    );
  });
});

describe('parseSseBatches and auditLines', () => {
  it('keeps the leadership events of an SSE stream, one audit line per event with its revision', () => {
    const text =
      ': watching from revision 1\n\n' +
      'id: 3\nevent: leadership\ndata: {"revision":3,"events":[{"scope":"a","reason":"granted","holder":null,"previousHolder":null}]}\n\n' +
      ': ping\n\n' +
      'event: error\ndata: {"error":{}}\n\n';
    const lines = auditLines(parseSseBatches(text));
    expect(lines).toEqual([
      '{"scope":"a","reason":"granted","holder":null,"previousHolder":null,"revision":"3"}',
    ]);
  });
});
