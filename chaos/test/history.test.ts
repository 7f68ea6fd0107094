import { parseAuditEvents, parseClientHistory, parseStoreLog, parseTimeline } from '../src/history';
import { chaosErrorOf } from './helpers/errors';

describe('history parsing', () => {
  it('reads client records with string or number times and skips blank lines', () => {
    const records = parseClientHistory(
      '{"process":"a","type":"invoke","f":"renew","scope":"s","value":{"fence":"3"},"time":"12"}\n\n' +
        '{"process":"a","type":"info","f":"renew","scope":"s","time":15}\n',
      'client-a.jsonl',
    );
    expect(records.map((r) => [r.type, r.timeNs, r.source, r.value])).toEqual([
      ['invoke', 12n, 'client-a.jsonl:1', { fence: '3' }],
      ['info', 15n, 'client-a.jsonl:3', {}],
    ]);
  });

  it('refuses bad client records, naming the file, line and field', () => {
    const line = (fields: string) =>
      `{"process":"a","type":"invoke","f":"renew","scope":"s","time":"1"${fields}}`;
    expect(chaosErrorOf(() => parseClientHistory('not json', 'c.jsonl'))).toBe('c.jsonl:1: not valid JSON');
    expect(chaosErrorOf(() => parseClientHistory('[1]', 'c.jsonl'))).toBe(
      'c.jsonl:1: a record is a JSON object',
    );
    expect(chaosErrorOf(() => parseClientHistory(line(',"type":"done"'), 'c.jsonl'))).toBe(
      'c.jsonl:1: "type" must be one of invoke, ok, fail, info, got "done"',
    );
    expect(chaosErrorOf(() => parseClientHistory(line(',"f":"steal"'), 'c.jsonl'))).toMatch(
      /"f" must be one of acquire/,
    );
    expect(chaosErrorOf(() => parseClientHistory(line(',"time":-1'), 'c.jsonl'))).toBe(
      'c.jsonl:1: "time" must be a non-negative integer (a decimal string), got -1',
    );
    expect(chaosErrorOf(() => parseClientHistory(line(',"scope":""'), 'c.jsonl'))).toBe(
      'c.jsonl:1: "scope" must be a non-empty string',
    );
    expect(chaosErrorOf(() => parseClientHistory(line(',"value":[]'), 'c.jsonl'))).toBe(
      'c.jsonl:1: "value" must be a JSON object',
    );
  });

  it('reads store records and refuses an unknown outcome', () => {
    const [record] = parseStoreLog(
      '{"scope":"s","fence":"7","writer":"b","outcome":"accepted","time":"9"}',
      'st.jsonl',
    );
    expect(record).toEqual({
      scope: 's',
      fence: 7n,
      writer: 'b',
      outcome: 'accepted',
      timeNs: 9n,
      source: 'st.jsonl:1',
    });
    expect(
      chaosErrorOf(() =>
        parseStoreLog('{"scope":"s","fence":"7","writer":"b","outcome":"ok","time":"9"}', 'st.jsonl'),
      ),
    ).toBe('st.jsonl:1: "outcome" must be one of accepted, rejected, got "ok"');
  });

  it('reads audit events in the wire form and refuses a holder without a fence', () => {
    const [e] = parseAuditEvents(
      '{"revision":"9","scope":"s","reason":"expired","previousHolder":{"candidateId":"a","fenceToken":"3"},"holder":null,"raftTerm":"2"}',
      'audit.jsonl',
    );
    expect(e).toEqual({
      revision: 9n,
      scope: 's',
      reason: 'expired',
      previousHolder: { candidateId: 'a', fenceToken: 3n },
      holder: null,
      source: 'audit.jsonl:1',
    });
    expect(
      chaosErrorOf(() =>
        parseAuditEvents(
          '{"revision":"9","scope":"s","reason":"granted","holder":{"candidateId":"a"}}',
          'audit.jsonl',
        ),
      ),
    ).toBe(
      'audit.jsonl:1: "holder.fenceToken" must be a non-negative integer (a decimal string), got nothing',
    );
  });

  it('reads a holder named leaderId, as the SSE stream names it', () => {
    const [e] = parseAuditEvents(
      '{"revision":"9","scope":"s","reason":"granted","previousHolder":null,"holder":{"leaderId":"b","fenceToken":"9"}}',
      'audit.jsonl',
    );
    expect(e?.holder).toEqual({ candidateId: 'b', fenceToken: 9n });
    expect(
      chaosErrorOf(() =>
        parseAuditEvents(
          '{"revision":"9","scope":"s","reason":"granted","holder":{"fenceToken":"9"}}',
          'a.jsonl',
        ),
      ),
    ).toBe('a.jsonl:1: "holder" must be null or {leaderId or candidateId, fenceToken}');
  });

  it('reads timeline records and refuses bad scopes', () => {
    const [r] = parseTimeline('{"time":"5","kind":"restart","fault":"restart-all"}', 't.jsonl');
    expect(r).toEqual({
      timeNs: 5n,
      kind: 'restart',
      fault: 'restart-all',
      target: undefined,
      scopes: [],
      source: 't.jsonl:1',
    });
    expect(
      chaosErrorOf(() => parseTimeline('{"time":"5","kind":"fault","fault":"x","scopes":"s"}', 't.jsonl')),
    ).toBe('t.jsonl:1: "scopes" must be a list of scope names');
  });
});
