import { spawn, spawnSync } from 'node:child_process';
import { CleanupRegistry } from '../../src/harness/cleanup';
import { createNetwork, listNamespaces, NETNS_PREFIX, sweepLeftovers } from '../../src/harness/network';
import { nftTableName, NftPartitions, partitionCuts } from '../../src/harness/partitions';
import { run, tryRun } from '../../src/harness/shell';
import { describeWithNetns } from '../helpers/root';

/** LISTENER listens on port 7000 of every address and answers each connection with "hi". */
const LISTENER = "require('net').createServer(s=>s.end('hi')).listen(7000,()=>console.log('listening'))";

/** connectFrom tries a TCP connect from inside `netns` to address:7000; 'ok' or 'fail' within 1.5 s. */
function connectFrom(netns: string, address: string): string {
  const script =
    `const s=require('net').connect(7000,'${address}');s.on('data',()=>{console.log('ok');process.exit(0)});` +
    `s.on('error',()=>{console.log('fail');process.exit(0)});setTimeout(()=>{console.log('fail');process.exit(0)},1500)`;
  return spawnSync('ip', ['netns', 'exec', netns, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  }).stdout.trim();
}

describeWithNetns('createNetwork and NftPartitions', () => {
  it('connects hosts only through their namespaces, and a partition really stops a TCP connect', async () => {
    const cleanup = new CleanupRegistry();
    const net = createNetwork(['n1', 'n2', 'n3'], cleanup);
    const listeners = net.hosts.map((h) =>
      spawn('ip', ['netns', 'exec', h.netns, process.execPath, '-e', LISTENER]),
    );
    try {
      await Promise.all(listeners.map((l) => new Promise((r) => l.stdout.once('data', r))));
      expect(connectFrom(net.host('n1').netns, net.host('n2').address)).toBe('ok');
      // The host namespace has no address on the bridge: it cannot reach the hosts.
      expect(run('ip', ['-o', 'addr']).includes('10.77.0.')).toBe(false);

      const partitions = new NftPartitions(net.runId, (n) => net.host(n), cleanup);
      const id = partitions.apply(partitionCuts({ kind: 'isolate', node: 'n1' }, ['n1', 'n2', 'n3']));
      expect(connectFrom(net.host('n1').netns, net.host('n2').address)).toBe('fail');
      expect(connectFrom(net.host('n2').netns, net.host('n1').address)).toBe('fail');
      expect(connectFrom(net.host('n2').netns, net.host('n3').address)).toBe('ok');
      partitions.heal(id);
      expect(connectFrom(net.host('n1').netns, net.host('n2').address)).toBe('ok');
      expect(
        run('ip', [
          'netns',
          'exec',
          net.host('n1').netns,
          'nft',
          'list',
          'table',
          'inet',
          nftTableName(net.runId),
        ]),
      ).not.toContain('drop');

      partitions.apply(partitionCuts({ kind: 'one-way', from: 'n3', to: 'n1' }, ['n1', 'n2', 'n3']));
      expect(connectFrom(net.host('n3').netns, net.host('n1').address)).toBe('fail');
      expect(connectFrom(net.host('n2').netns, net.host('n1').address)).toBe('ok');
    } finally {
      for (const l of listeners) if (l.pid !== undefined) process.kill(l.pid, 'SIGKILL');
      expect(await cleanup.runAll()).toEqual([]);
    }
    expect(listNamespaces().filter((n) => n.includes(net.runId))).toEqual([]);
    expect(tryRun('ip', ['link', 'show', net.bridge])).toBeUndefined();
  });

  it('sweeps the namespaces of a run whose process is gone, and leaves live runs alone', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.pid'], { timeout: 10_000 }).pid;
    const leftover = `${NETNS_PREFIX}${dead}-abcdef-n1`;
    const live = `${NETNS_PREFIX}${process.pid}-fedcba-n1`;
    run('ip', ['netns', 'add', leftover]);
    run('ip', ['netns', 'add', live]);
    try {
      expect(sweepLeftovers()).toContain(leftover);
      expect(listNamespaces()).not.toContain(leftover);
      expect(listNamespaces()).toContain(live);
    } finally {
      tryRun('ip', ['netns', 'del', live]);
      tryRun('ip', ['netns', 'del', leftover]);
    }
  });
});

describe('partitionCuts', () => {
  const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];

  it('cuts both ways across a split and only one way for a one-way partition', () => {
    expect(partitionCuts({ kind: 'split', side: ['n1', 'n2'] }, nodes)).toHaveLength(12);
    expect(partitionCuts({ kind: 'one-way', from: 'n1', to: 'n2' }, nodes)).toEqual([
      { from: 'n1', to: 'n2' },
    ]);
  });

  it('leaves a bridge node connected to both halves', () => {
    const cuts = partitionCuts({ kind: 'bridge', node: 'n3' }, nodes);
    expect(cuts.some((c) => c.from === 'n3' || c.to === 'n3')).toBe(false);
    expect(cuts).toContainEqual({ from: 'n1', to: 'n4' });
    expect(cuts).not.toContainEqual({ from: 'n1', to: 'n2' });
  });

  it('refuses a node that is not in the cluster', () => {
    expect(() => partitionCuts({ kind: 'isolate', node: 'n9' }, nodes)).toThrow(
      'partition names n9, not one of n1, n2, n3, n4, n5',
    );
  });
});
