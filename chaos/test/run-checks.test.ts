import { join } from 'node:path';
import { chaosErrorOf } from './helpers/errors';
import { readRunFolder } from '../src/read-run';
import type { RunFiles } from '../src/run-checks';
import { checkRun, parseSloExpectations } from '../src/run-checks';

const runs = join(__dirname, 'testdata', 'runs');

describe('checkRun', () => {
  it('passes every checker on a run where a dead holder was replaced and its late write rejected', () => {
    const verdict = checkRun(readRunFolder(join(runs, 'valid')));
    expect(verdict.checkers.map((c) => [c.checker, c.verdict, c.violations])).toEqual([
      ['fenced-store', 'valid', []],
      ['grants', 'valid', []],
      ['linearizability', 'valid', []],
      ['server-holders', 'valid', []],
      ['slo', 'valid', []],
    ]);
    expect(verdict.verdict).toBe('valid');
    expect(verdict.counts).toEqual({ operations: 7, storeWrites: 3, auditEvents: 2, faults: 1 });
    expect(verdict.sloFigures[0]).toMatchObject({ fault: 'kill-holder', regrantMs: 10 });
  });

  it('fails a run whose store skipped the fence check and whose old holder kept renewing', () => {
    const verdict = checkRun(readRunFolder(join(runs, 'split-brain')));
    expect(verdict.verdict).toBe('invalid');
    const byName = Object.fromEntries(verdict.checkers.map((c) => [c.checker, c]));
    expect(byName['fenced-store']!.violations).toEqual([
      'store-1.jsonl:2: scope orders accepted fence 3 from a after fence 9 from b (store-1.jsonl:1): accepted fences went down, a stale writer got through',
    ]);
    expect(byName['linearizability']!.violations[0]).toMatch(
      /^scope orders: not linearizable: no order of these 2 operations, from a vacant scope, fits the lease register:\n {2}b campaign\(b\) → granted fence 9 \[1\.500\.\.20\.000 ms, client-b\.jsonl:1\]\n {2}a renew\(fence 3\) → ok \[25\.000\.\.26\.000 ms, client-a\.jsonl:5\]/,
    );
    expect(byName['grants']!.verdict).toBe('valid');
    expect(byName['server-holders']!.verdict).toBe('valid');
  });

  it('answers unknown for a checker with nothing to read, never valid', () => {
    const empty: RunFiles = {
      clients: [],
      stores: [],
      audit: undefined,
      timeline: undefined,
      sloExpectations: undefined,
    };
    const verdict = checkRun(empty);
    expect(verdict.verdict).toBe('unknown');
    expect(verdict.checkers.filter((c) => c.verdict === 'unknown').map((c) => c.violations[0])).toEqual([
      'nothing to check: the run has no store-*.jsonl',
      'nothing to check: the run has no client-*.jsonl',
      'nothing to check: the run has no audit.jsonl',
    ]);
  });

  it('refuses a malformed record, naming its file and line', () => {
    const files: RunFiles = {
      clients: [
        {
          file: 'client-x.jsonl',
          text: '{"process":"x","type":"invoke","f":"acquire","scope":"s","value":{},"time":"1"}\n',
        },
      ],
      stores: [],
      audit: undefined,
      timeline: undefined,
      sloExpectations: undefined,
    };
    expect(chaosErrorOf(() => checkRun(files))).toBe('client-x.jsonl:1: acquire needs "value.candidate"');
  });
});

describe('parseSloExpectations', () => {
  it('reads bounds and refuses unknown or out-of-range ones', () => {
    expect(
      parseSloExpectations({ file: 'slo.json', text: '[{"fault":"kill","failoverMsMax":500}]' }),
    ).toEqual([{ fault: 'kill', failoverMsMax: 500 }]);
    const cases: [string, string][] = [
      ['{', 'slo.json: not valid JSON'],
      ['{}', 'slo.json: a list of expectations'],
      ['[{"failoverMsMax":1}]', 'slo.json[0]: each expectation names its "fault"'],
      [
        '[{"fault":"k","fastMs":1}]',
        'slo.json[0]: unknown bound "fastMs" (failoverMsMax, regrantMsMax, availabilityMin, recoveryMsMax)',
      ],
      ['[{"fault":"k","availabilityMin":1.5}]', 'slo.json[0]: "availabilityMin" must be a number in 0..1'],
      [
        '[{"fault":"k","failoverMsMax":-1}]',
        'slo.json[0]: "failoverMsMax" must be a number in 0..9007199254740991',
      ],
    ];
    for (const [text, message] of cases) {
      expect(chaosErrorOf(() => parseSloExpectations({ file: 'slo.json', text }))).toBe(message);
    }
  });
});
