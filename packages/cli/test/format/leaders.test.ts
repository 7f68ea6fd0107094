import {
  eventJsonLine,
  eventLine,
  leadersJson,
  leadersTable,
  snapshotJsonLine,
} from '../../src/format/leaders';
import { expectGolden } from '../support/golden';
import { expectLeaseToken } from '../support/lease-token';
import { EVENTS, LEASES, NOW_MS } from '../support/fixtures';

describe('the leaders renderers', () => {
  it('render the table sorted by scope, with durations relative to now', () => {
    expectGolden('leaders-table', leadersTable(LEASES, NOW_MS, { kind: 'all' }));
  });

  it('render the JSON document sorted by scope, with bigints as strings', () => {
    const text = leadersJson(LEASES);
    expectGolden('leaders-json', text);
    const parsed = JSON.parse(text) as { leaders: { scope: string; fenceToken: string }[] };
    expect(parsed.leaders.map((l) => l.scope)).toEqual([...parsed.leaders.map((l) => l.scope)].sort());
    expect(parsed.leaders.find((l) => l.scope === 'shard/orders/10')?.fenceToken).toBe(
      '18446744073709551615',
    );
  });

  it('say so, in one line, when nothing is held', () => {
    const text = [
      leadersTable([], NOW_MS, { kind: 'all' }),
      leadersTable([], NOW_MS, { kind: 'prefix', prefix: 'shard/' }),
      leadersTable([], NOW_MS, { kind: 'scope', scope: 'global-control' }),
      leadersJson([]),
    ].join('');
    expectGolden('leaders-empty', text);
  });

  it('render each watch event as one key=value line', () => {
    const text = EVENTS.map(eventLine).join('');
    expectGolden('leaders-watch-table', text);
    expect(text.split('\n')).toHaveLength(EVENTS.length + 1);
  });

  it('render the JSON watch stream as one object per line, snapshot first', () => {
    const text = snapshotJsonLine(LEASES.slice(0, 2)) + EVENTS.map(eventJsonLine).join('');
    expectGolden('leaders-watch-json', text);
    const lines = text.trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual([
      'snapshot',
      'event',
      'event',
      'event',
    ]);
  });

  it('name every lease and former holder in JSON as DISC-002 does, in the document and the watch stream', () => {
    const document = JSON.parse(leadersJson(LEASES)) as { leaders: unknown[] };
    expect(document.leaders).toHaveLength(LEASES.length);
    for (const l of document.leaders) expectLeaseToken(l);
    const [snapshot, ...events] = (snapshotJsonLine(LEASES) + EVENTS.map(eventJsonLine).join(''))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of snapshot!['leaders'] as unknown[]) expectLeaseToken(l);
    expect(events.map((e) => e['holder'] === null || expectLeaseToken(e['holder']))).toHaveLength(3);
    expect(events.map((e) => e['previous'])).toEqual([
      { leaderId: 'orders-worker-7f9c', fenceToken: '41' },
      null,
      { leaderId: 'control-a', fenceToken: '12' },
    ]);
  });
});
