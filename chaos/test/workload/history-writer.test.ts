import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClientHistory } from '../../src/history';
import { pairOperations } from '../../src/operations';
import { HistoryWriter } from '../../src/workload/history-writer';

describe('HistoryWriter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnirelay-history-writer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes records the checkers read, with monotonic times, and leaves an unfinished call open', () => {
    const file = join(dir, 'client-w1.jsonl');
    const history = new HistoryWriter(file);
    history.invoke('w1/a', 'acquire', 'a', { candidate: 'w1', session: 's1' });
    history.invoke('w1/keepalive/a/3', 'renew', 'a', { fence: '3' });
    history.complete('w1/a', 'ok', { granted: true, fence: '3' });
    history.complete('w1/keepalive/a/3', 'info', { code: 'UNAVAILABLE' });
    history.invoke('w1/a', 'write', 'a', { fence: '3' });
    expect(history.isOpen('w1/a')).toBe(true);
    history.close();

    const text = readFileSync(file, 'utf8');
    const records = parseClientHistory(text, 'client-w1.jsonl');
    const times = records.map((r) => r.timeNs);
    expect([...times].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(times);
    const operations = pairOperations(records);
    expect(operations.map((o) => [o.process, o.f, o.status])).toEqual([
      ['w1/a', 'acquire', 'ok'],
      ['w1/keepalive/a/3', 'renew', 'info'],
      ['w1/a', 'write', 'info'],
    ]);
  });

  it('refuses a second call on a process with one open, and a completion with none', () => {
    const history = new HistoryWriter(join(dir, 'client-w2.jsonl'));
    history.invoke('w2', 'validate', 'a', { fence: '1' });
    expect(() => history.invoke('w2', 'write', 'a', { fence: '1' })).toThrow(
      'history: w2 invokes write a while its validate a is open',
    );
    expect(() => history.complete('w3', 'ok')).toThrow('history: w3 completes a call it never invoked');
    history.close();
  });
});
