import type { Msg, Solo } from './grpc-test-helpers';
import { StreamReader, leaseOf, serverStream, startSolo, streamReady, unary } from './grpc-test-helpers';

describe('the Raft term of the entry behind each write (raft_term, raftTerm)', () => {
  jest.setTimeout(60_000);
  let solo: Solo;
  /** watchReader sees every event of the scopes these tests write, with each entry's Raft term. */
  let watch: ReturnType<typeof serverStream>;
  let watchReader: StreamReader;
  /** termsByRevision maps each revision seen by the watcher to the Raft term of its events. */
  const termsByRevision = new Map<string, string>();

  beforeAll(async () => {
    solo = await startSolo();
    watch = serverStream(solo.leadership, 'Watch', { prefix: 'term/', fromRevision: 0 });
    watchReader = new StreamReader(watch);
    await streamReady(watch);
  });

  afterAll(async () => {
    watch.cancel();
    await solo.stop();
  });

  /** termOfRevision reads watched events until it has seen `revision`, and returns its Raft term. */
  async function termOfRevision(revision: string): Promise<string> {
    for (let i = 0; i < 50 && !termsByRevision.has(revision); i++) {
      const m = await watchReader.next();
      for (const e of m['events'] as Msg[]) termsByRevision.set(String(m['revision']), String(e['raftTerm']));
    }
    const term = termsByRevision.get(revision);
    if (term === undefined) throw new Error(`revision ${revision} was not watched`);
    return term;
  }

  async function currentTerm(): Promise<string> {
    return String((await unary(solo.cluster, 'Status', {}))['term']);
  }

  it('answers Acquire, Resign and StepDown with the term of the entry that produced the answer', async () => {
    const term = await currentTerm();
    expect(BigInt(term)).toBeGreaterThan(0n);

    const acquired = await unary(solo.leadership, 'Acquire', {
      scope: 'term/a',
      candidateId: 'a',
      leaseTtlMs: 60_000,
    });
    const lease = leaseOf(acquired, 'lease');
    expect(acquired['raftTerm']).toBe(term);
    expect(await termOfRevision(String(lease['revision']))).toBe(term);

    // Not granted: the answer still comes from an applied entry, of this term.
    const refused = await unary(solo.leadership, 'Acquire', {
      scope: 'term/a',
      candidateId: 'b',
      leaseTtlMs: 60_000,
    });
    expect(refused).toMatchObject({ granted: false, raftTerm: term });

    const resigned = await unary(solo.leadership, 'Resign', {
      scope: 'term/a',
      fenceToken: lease['fenceToken'],
    });
    expect(resigned['raftTerm']).toBe(term);

    await unary(solo.leadership, 'Acquire', { scope: 'term/b', candidateId: 'a', leaseTtlMs: 60_000 });
    const steppedDown = await unary(solo.leadership, 'StepDown', { scope: 'term/b' });
    expect(steppedDown['raftTerm']).toBe(term);
  });

  it('puts the term of the granting entry in Elected, at once and after queueing', async () => {
    const term = await currentTerm();
    const first = new StreamReader(
      serverStream(solo.leadership, 'Campaign', {
        scope: 'term/c',
        candidateId: 'a',
        sessionId: 'session-a',
        leaseTtlMs: 60_000,
      }),
    );
    const won = leaseOf(await first.next(), 'elected');
    expect(won['raftTerm']).toBe(term);
    expect(won['alreadyHolder']).toBe(false);

    // The holder campaigning again in its session gets its lease back, marked as held from before the call.
    const again = new StreamReader(
      serverStream(solo.leadership, 'Campaign', {
        scope: 'term/c',
        candidateId: 'a',
        sessionId: 'session-a',
        leaseTtlMs: 60_000,
      }),
    );
    const repeated = leaseOf(await again.next(), 'elected');
    expect(repeated['alreadyHolder']).toBe(true);
    expect(leaseOf(repeated, 'lease')['fenceToken']).toBe(leaseOf(won, 'lease')['fenceToken']);

    const second = new StreamReader(
      serverStream(solo.leadership, 'Campaign', { scope: 'term/c', candidateId: 'b', leaseTtlMs: 60_000 }),
    );
    expect(await second.next()).toHaveProperty('queued');
    await unary(solo.leadership, 'Resign', {
      scope: 'term/c',
      fenceToken: leaseOf(won, 'lease')['fenceToken'],
    });
    const elected = leaseOf(await second.next(), 'elected');
    expect(elected['raftTerm']).toBe(term);
    expect(elected['alreadyHolder']).toBe(false);
    expect(await termOfRevision(String(leaseOf(elected, 'lease')['revision']))).toBe(term);
  });

  it('answers the HTTP writes with raftTerm as a decimal string', async () => {
    const term = await currentTerm();
    const post = async (path: string, body: object): Promise<Record<string, unknown>> => {
      const res = await fetch(`http://${solo.server.http.address}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    const acquired = await post('/leadership/acquire', {
      scope: 'term/http',
      candidateId: 'a',
      leaseTtlMs: 60_000,
    });
    expect(acquired['raftTerm']).toBe(term);
    const fenceToken = (acquired['lease'] as { fenceToken: string }).fenceToken;
    expect(await post('/leadership/resign', { scope: 'term/http', fenceToken })).toMatchObject({
      raftTerm: term,
    });
    await post('/leadership/acquire', { scope: 'term/http', candidateId: 'a', leaseTtlMs: 60_000 });
    expect(await post('/leadership/stepdown', { scope: 'term/http' })).toMatchObject({ raftTerm: term });
  });
});
