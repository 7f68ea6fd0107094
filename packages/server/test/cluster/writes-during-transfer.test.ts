import { useLocalCluster } from './cluster-helpers';

jest.setTimeout(60_000);

/**
 * A write that reaches the leader while it hands leadership over is refused by Raft
 * (TRANSFER_IN_PROGRESS). The service waits for the hand-over instead and the write lands in
 * the new term, forwarded to the new leader: a planned transfer costs clients no error and no
 * retry backoff.
 */
describe('writes during a planned leadership transfer (3 real processes)', () => {
  const cluster = useLocalCluster('transfer-writes', { size: 3 });

  it('lands every write sent to the old leader during the transfer, in the new term', async () => {
    const leader = await cluster().waitForLeader();
    const before = (await cluster().status(leader))!.term;
    for (let round = 0; round < 3; round++) {
      const from = await cluster().waitForLeader();
      const transfer = cluster().post(from, '/cluster/transfer-leader', {});
      const writes: Promise<{ status: number; body: unknown }>[] = [];
      for (let i = 0; i < 15; i++) {
        writes.push(
          cluster().post(from, '/leadership/acquire', {
            scope: `moving/${round}/${i}`,
            candidateId: 'w',
            leaseTtlMs: 60_000,
          }),
        );
        await new Promise((r) => setTimeout(r, 2));
      }
      expect((await transfer).status).toBe(200);
      const answers = await Promise.all(writes);
      for (const a of answers) expect(a).toMatchObject({ status: 200, body: { granted: true } });
      const terms = answers.map((a) => Number((a.body as { raftTerm: string }).raftTerm));
      // Some writes committed before the transfer began; the rest in the new term.
      expect(Math.max(...terms)).toBeGreaterThan(before + round);
      await new Promise((r) => setTimeout(r, 300));
    }
  });
});
