import { EXIT } from '../../src/exit-codes';
import type { PeersAnswer } from '../../src/format/peers';
import { PEERS_HEADERS } from '../../src/format/peers';
import { expectOneErrorLine, runCliInProcess } from '../support/run-cli';
import { useLocalCluster } from '../support/local-cluster';

jest.setTimeout(120_000);

describe('omnirelay mesh peers list against a real 3-node cluster', () => {
  const cluster = useLocalCluster('peers');
  const http = (): string =>
    cluster()
      .nodes.map((n) => n.clientAddress)
      .join(',');
  const peers = (...argv: string[]) =>
    runCliInProcess(['mesh', 'peers', 'list', '--http-endpoints', http(), ...argv]);

  it('lists every member from the leader’s view, as a table and as JSON', async () => {
    const leader = await cluster().waitForLeader(30_000);
    const table = await peers();
    expect({ code: table.code, stderr: table.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${PEERS_HEADERS.join(' +')}$`));
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe(
      `(answered by ${leader}; leader ${leader}; term ${/term (\d+)/.exec(lines[4]!)![1]})`,
    );
    const json = await peers('-o', 'json');
    expect(json.code).toBe(EXIT.OK);
    const answer = JSON.parse(json.stdout) as PeersAnswer;
    expect(answer.answeredBy).toBe(leader);
    expect(answer.peers.map((p) => p.id)).toEqual(['n1', 'n2', 'n3']);
    // The leader knows every member's match and lag.
    expect(answer.peers.every((p) => p.match !== null && p.healthy)).toBe(true);
  });

  it('filters by role and by health, through a follower too', async () => {
    const leader = await cluster().waitForLeader(30_000);
    const follower = cluster().nodes.find((n) => n.id !== leader)!;
    const voters = await runCliInProcess([
      '-o',
      'json',
      'mesh',
      'peers',
      'list',
      '--http-endpoints',
      follower.clientAddress,
      '--role',
      'voter',
    ]);
    expect(voters.code).toBe(EXIT.OK);
    const answer = JSON.parse(voters.stdout) as PeersAnswer;
    expect(answer.answeredBy).toBe(leader);
    expect(answer.peers.map((p) => p.role)).toEqual(['voter', 'voter']);
    const leaders = JSON.parse((await peers('-o', 'json', '--role', 'leader,learner')).stdout) as PeersAnswer;
    expect(leaders.peers.map((p) => p.id)).toEqual([leader]);
    const unhealthy = JSON.parse((await peers('-o', 'json', '--unhealthy')).stdout) as PeersAnswer;
    expect(unhealthy.peers).toEqual([]);
    const healthy = JSON.parse((await peers('-o', 'json', '--healthy')).stdout) as PeersAnswer;
    expect(healthy.peers).toHaveLength(3);
  });

  it('refuses bad filters and unreachable endpoints with one line and the table’s exit code', async () => {
    const cases: [string[], number, RegExp][] = [
      [['--role', 'boss'], EXIT.USAGE, /--role "boss" is not a role/],
      [['--healthy', '--unhealthy'], EXIT.USAGE, /cannot be used together/],
      [['--http-endpoints', 'nope'], EXIT.USAGE, /is not host:port/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await runCliInProcess(['mesh', 'peers', 'list', ...argv]);
      expect({ argv, code: r.code }).toEqual({ argv, code });
      expectOneErrorLine(r.stderr);
      expect(r.stderr).toMatch(message);
    }
    const down = await runCliInProcess([
      '--timeout',
      '2000',
      'mesh',
      'peers',
      'list',
      '--http-endpoints',
      '127.0.0.1:1',
    ]);
    expect(down.code).toBe(EXIT.UNAVAILABLE);
    expectOneErrorLine(down.stderr);
    expect(down.stderr).toMatch(/no node answered GET \/control\/peers/);
  });
});
