import { parseClientHistory } from '../src/history';
import { describeOperation, pairOperations } from '../src/operations';

function history(...lines: string[]) {
  return parseClientHistory(lines.join('\n'), 'c.jsonl');
}
const invoke = (process: string, time: number, f = 'renew', value = '{"fence":"3"}') =>
  `{"process":"${process}","type":"invoke","f":"${f}","scope":"s","value":${value},"time":"${time}"}`;
const done = (process: string, type: string, time: number, f = 'renew', value = '{}') =>
  `{"process":"${process}","type":"${type}","f":"${f}","scope":"s","value":${value},"time":"${time}"}`;
import { chaosErrorOf } from './helpers/errors';

describe('pairOperations', () => {
  it('pairs interleaved processes, sorts by invocation and leaves an open call as info', () => {
    const ops = pairOperations(
      history(
        invoke('b', 2_000_000, 'acquire', '{"candidate":"b","session":"sb"}'),
        invoke('a', 1_000_000),
        done('a', 'ok', 3_000_000),
        done('b', 'ok', 4_000_000, 'acquire', '{"granted":true,"fence":"12"}'),
        invoke('a', 5_000_000, 'validate', '{"fence":"12","serializable":true}'),
      ),
    );
    expect(ops.map(describeOperation)).toEqual([
      'a renew(fence 3) → ok [1.000..3.000 ms, c.jsonl:2]',
      'b acquire(b) → granted fence 12 [2.000..4.000 ms, c.jsonl:1]',
      'a validate(fence 12) → unknown outcome [5.000..… ms, c.jsonl:5]',
    ]);
    expect(ops[2]).toMatchObject({
      status: 'info',
      completeNs: null,
      input: { fence: 12n, serializable: true },
    });
  });

  it('keeps the code of a failure and reads a held acquire', () => {
    const ops = pairOperations(
      history(
        invoke('a', 1),
        done('a', 'fail', 2, 'renew', '{"code":"STALE_FENCE"}'),
        invoke('b', 3, 'acquire', '{"candidate":"b"}'),
        done('b', 'ok', 4, 'acquire', '{"granted":false}'),
      ),
    );
    expect(ops.map((o) => [o.status, o.output])).toEqual([
      ['fail', { code: 'STALE_FENCE' }],
      ['ok', { granted: false }],
    ]);
  });

  it('refuses records that do not pair up', () => {
    expect(chaosErrorOf(() => pairOperations(history(invoke('a', 1), invoke('a', 2))))).toBe(
      'c.jsonl:2: process a invokes renew while its renew from c.jsonl:1 is still open',
    );
    expect(chaosErrorOf(() => pairOperations(history(done('a', 'ok', 1))))).toBe(
      'c.jsonl:1: process a completes renew with ok but invoked nothing',
    );
    expect(chaosErrorOf(() => pairOperations(history(invoke('a', 5), done('a', 'ok', 4))))).toMatch(
      /^c\.jsonl:2: ok renew s does not complete renew s invoked at c\.jsonl:1/,
    );
    expect(chaosErrorOf(() => pairOperations(history(invoke('a', 1), done('a', 'ok', 2, 'resign'))))).toMatch(
      /does not complete renew s/,
    );
  });

  it('refuses answers that lack what the checkers read', () => {
    expect(
      chaosErrorOf(() => pairOperations(history(invoke('a', 1, 'validate'), done('a', 'ok', 2, 'validate')))),
    ).toBe('c.jsonl:2: an ok validate needs "value.valid"');
    expect(
      chaosErrorOf(() =>
        pairOperations(
          history(invoke('a', 1, 'acquire', '{"candidate":"a"}'), done('a', 'ok', 2, 'acquire')),
        ),
      ),
    ).toBe('c.jsonl:2: an ok acquire needs "value.granted"');
    expect(chaosErrorOf(() => pairOperations(history(invoke('a', 1, 'renew', '{}'))))).toBe(
      'c.jsonl:1: "value.fence" must be a non-negative integer (a decimal string), got nothing',
    );
    expect(
      chaosErrorOf(() => pairOperations(history(invoke('a', 1, 'acquire', '{"candidate":"a","session":7}')))),
    ).toBe('c.jsonl:1: "value.session" must be a string');
  });
});
