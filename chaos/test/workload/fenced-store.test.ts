import { FencedStore, parseStoreWrite } from '../../src/workload/fenced-store';

const write = (scope: string, fence: string, writer: string): string =>
  JSON.stringify({ scope, fence, writer });

describe('FencedStore', () => {
  it('admits fences that do not go down per scope and logs each decision with its time', () => {
    const store = new FencedStore('fenced');
    const decisions = [
      store.decide(write('a', '3', 'w1'), 10n),
      store.decide(write('a', '3', 'w1'), 11n),
      store.decide(write('b', '1', 'w2'), 12n),
      store.decide(write('a', '2', 'w3'), 13n),
    ];
    expect(decisions.map((d) => d.status)).toEqual([200, 200, 200, 409]);
    expect(decisions[3]!.body).toMatchObject({ error: { code: 'STALE_FENCE', currentFenceToken: '3' } });
    expect(decisions.map((d) => JSON.parse(d.logLine!) as unknown)).toEqual([
      { scope: 'a', fence: '3', writer: 'w1', outcome: 'accepted', time: '10' },
      { scope: 'a', fence: '3', writer: 'w1', outcome: 'accepted', time: '11' },
      { scope: 'b', fence: '1', writer: 'w2', outcome: 'accepted', time: '12' },
      { scope: 'a', fence: '2', writer: 'w3', outcome: 'rejected', time: '13' },
    ]);
  });

  it('in skip-fence mode accepts a stale fence', () => {
    const store = new FencedStore('skip-fence');
    store.decide(write('a', '9', 'w2'), 1n);
    const stale = store.decide(write('a', '3', 'w1'), 2n);
    expect(stale.status).toBe(200);
    expect(stale.logLine).toContain('"outcome":"accepted"');
  });

  it('answers a bad request 400 and logs nothing', () => {
    const bad = new FencedStore('fenced').decide('{"scope":"a"}', 1n);
    expect(bad.status).toBe(400);
    expect(bad.logLine).toBeUndefined();
  });
});

describe('parseStoreWrite', () => {
  it.each([
    ['{', 'the body is not valid JSON'],
    ['null', 'the body is not a JSON object'],
    [
      JSON.stringify({ scope: '', fence: '1', writer: 'w' }),
      '"scope" must be a string of 1 to 512 characters',
    ],
    [
      JSON.stringify({ scope: 'a', fence: '1', writer: 'w'.repeat(257) }),
      '"writer" must be a string of 1 to 256',
    ],
    [JSON.stringify({ scope: 'a', fence: '01', writer: 'w' }), '"fence" must be a decimal string from 1'],
    [
      JSON.stringify({ scope: 'a', fence: '18446744073709551616', writer: 'w' }),
      '"fence" must be a decimal string',
    ],
  ])('refuses %s', (text, message) => {
    expect(parseStoreWrite(text)).toContain(message);
  });

  it('reads the largest fence', () => {
    expect(parseStoreWrite(write('a', '18446744073709551615', 'w'))).toEqual({
      scope: 'a',
      fence: 18446744073709551615n,
      writer: 'w',
    });
  });
});
