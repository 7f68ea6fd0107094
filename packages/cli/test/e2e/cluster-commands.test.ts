import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Lease, OmniRelayClient } from '@omnirelay/client-sdk';
import { createClient } from '@omnirelay/client-sdk';
import { closedPort, expectOneErrorLine, runCliInProcess, startCli, waitFor } from '../support/run-cli';
import { useLocalCluster } from '../support/local-cluster';
import { expectLeaseToken } from '../support/lease-token';

/** BIN is the committed wrapper `npx omnirelay` runs. */
const BIN = join(__dirname, '..', '..', 'bin', 'omnirelay.js');

/** CHILD_TIMEOUT_MS bounds each child process (it is killed by PID past it). */
const CHILD_TIMEOUT_MS = 30_000;

/** runChild runs the bin wrapper as a child process and resolves to its exit code and output. */
function runChild(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...argv],
      { timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL', encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('omnirelay against a 3-node cluster', () => {
  const cluster = useLocalCluster('commands');
  let endpoints = '';
  let client: OmniRelayClient;
  let control: Lease;
  let orders: Lease;

  beforeAll(async () => {
    endpoints = cluster()
      .nodes.map((n) => n.grpcAddress)
      .join(',');
    client = createClient({ endpoints: endpoints.split(','), callTimeoutMs: 10_000 });
    control = (await client.acquire('global-control', { ttlMs: 60_000, candidateId: 'control-a' }))!;
    orders = (await client.acquire('shard/orders/1', { ttlMs: 30_000, candidateId: 'orders-b' }))!;
    expect(control).not.toBeNull();
    expect(orders).not.toBeNull();
  }, 30_000);

  afterAll(() => client?.close());

  const cli = (...argv: string[]): ReturnType<typeof runCliInProcess> =>
    runCliInProcess(['--endpoints', endpoints, ...argv]);

  it('lists both holders in a table sorted by scope', async () => {
    const r = await cli('mesh', 'leaders', 'status');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SCOPE +HOLDER +FENCE +TERM +TTL +EXPIRES-IN$/);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 5))).toEqual([
      ['global-control', 'control-a', control.fence.toString(), '1', '1m00s'],
      ['shard/orders/1', 'orders-b', orders.fence.toString(), '1', '30s'],
    ]);
    expect(lines[1]).toMatch(/ \d+(\.\d)?s$|1m00s$/);
  }, 20_000);

  it('lists the holders as JSON lease tokens with the DISC-002 names and fences as strings', async () => {
    const r = await cli('mesh', 'leaders', 'status', '-o', 'json');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { leaders: unknown[] };
    expect(
      body.leaders.map((l) => {
        const t = expectLeaseToken(l);
        return [t['scope'], t['leaderId'], t['fenceToken']];
      }),
    ).toEqual([
      ['global-control', 'control-a', control.fence.toString()],
      ['shard/orders/1', 'orders-b', orders.fence.toString()],
    ]);
  }, 20_000);

  it('takes --scope as one exact scope and --prefix as a prefix', async () => {
    const exact = await cli('mesh', 'leaders', 'status', '--scope', 'shard/orders/1', '-o', 'json');
    expect(
      (JSON.parse(exact.stdout) as { leaders: { scope: string }[] }).leaders.map((l) => l.scope),
    ).toEqual(['shard/orders/1']);
    // "global" is a prefix of "global-control", but --scope is exact.
    const notPrefix = await cli('mesh', 'leaders', 'status', '--scope', 'global');
    expect(notPrefix).toEqual({ code: 0, stdout: 'scope "global" has no holder (vacant)\n', stderr: '' });
    const prefix = await cli('mesh', 'leaders', 'status', '--prefix', 'shard/');
    expect(prefix.stdout).toMatch(/^SCOPE.*\nshard\/orders\/1 +orders-b /);
    expect(prefix.stdout).not.toContain('global-control');
  }, 20_000);

  it("shows every node's status, and an unreachable endpoint as such", async () => {
    const closed = `127.0.0.1:${await closedPort()}`;
    const r = await runCliInProcess(['--endpoints', `${endpoints},${closed}`, 'status']);
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^ENDPOINT +ID +ROLE +TERM +LEADER +COMMIT +APPLIED +MEMBERS$/);
    expect(rows).toHaveLength(5);
    expect(rows.filter((row) => / leader /.test(row))).toHaveLength(1);
    expect(rows.slice(1, 4).every((row) => row.endsWith(' n1,n2,n3'))).toBe(true);
    expect(rows[4]).toMatch(new RegExp(`^${closed.replace(/\./g, '\\.')} +- +unreachable( +-)+$`));

    const json = await cli('status', '-o', 'json');
    const nodes = (JSON.parse(json.stdout) as { nodes: { id: string; reachable: boolean; term: string }[] })
      .nodes;
    expect(nodes.map((n) => [n.id, n.reachable])).toEqual([
      ['n1', true],
      ['n2', true],
      ['n3', true],
    ]);
    expect(nodes[0]!.term).toMatch(/^\d+$/);
  }, 20_000);

  it('lists the members as the Raft leader reports them', async () => {
    const r = await cli('cluster', 'members');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +ROLE +PEER-ADDRESS +CONNECTED +MATCH +LAG$/);
    expect(lines.slice(1, 4).map((l) => l.split(/ +/)[0])).toEqual(['n1', 'n2', 'n3']);
    expect(lines.slice(1, 4).filter((l) => / leader /.test(l))).toHaveLength(1);
    // Answered by the leader, so replication progress is known for every member.
    expect(lines.slice(1, 4).every((l) => /\d+ +\d+$/.test(l))).toBe(true);
    expect(lines[4]).toMatch(/^\(answered by (n\d); leader \1\)$/);

    const json = JSON.parse((await cli('cluster', 'members', '-o', 'json')).stdout) as {
      answeredBy: string;
      leader: string;
      members: { id: string }[];
    };
    expect(json.answeredBy).toBe(json.leader);
    expect(json.members.map((m) => m.id)).toEqual(['n1', 'n2', 'n3']);
  }, 20_000);

  it("validates the holder's fence with exit 0", async () => {
    const r = await cli(
      'fence',
      'validate',
      '--scope',
      'global-control',
      '--fence',
      control.fence.toString(),
    );
    expect(r).toEqual({
      code: 0,
      stdout: `fence ${control.fence} is valid for "global-control" (held by control-a)\n`,
      stderr: '',
    });
  }, 20_000);

  it('refuses a stale fence with exit 5, naming the current holder and fence', async () => {
    const stale = (control.fence - 1n).toString();
    const r = await cli('fence', 'validate', '--scope', 'global-control', '--fence', stale);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toContain(
      `fence ${stale} is stale for "global-control": the holder is control-a with fence ${control.fence}`,
    );

    const json = await cli('fence', 'validate', '--scope', 'global-control', '--fence', stale, '-o', 'json');
    expect(json.code).toBe(5);
    const body = JSON.parse(json.stdout) as { valid: boolean; fenceToken: string; current: unknown };
    expect(body).toMatchObject({ valid: false, fenceToken: stale });
    expect(expectLeaseToken(body.current)['fenceToken']).toBe(control.fence.toString());
  }, 20_000);

  it("answers a step-down of a vacant scope with the server's code: NOT_HOLDER, exit 5", async () => {
    const r = await cli('leadership', 'stepdown', '--scope', 'shard/vacant/1');
    expect(r.code).toBe(5);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toContain('(NOT_HOLDER)');
  }, 20_000);

  it('refuses an invalid scope name with exit 2 and a stale step-down fence with exit 5', async () => {
    const invalid = await cli('leadership', 'stepdown', '--scope', 'Not/Valid');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('(INVALID_SCOPE)');
    expectOneErrorLine(invalid.stderr);
    const stale = await cli('leadership', 'stepdown', '--scope', 'shard/orders/1', '--fence', '1');
    expect(stale.code).toBe(5);
    expect(stale.stderr).toContain('(STALE_FENCE)');
  }, 20_000);

  it('steps a holder down, guarded by its fence', async () => {
    const lease = (await client.acquire('shard/tmp/1', { ttlMs: 30_000, candidateId: 'tmp-c' }))!;
    const r = await cli(
      'leadership',
      'stepdown',
      '--scope',
      'shard/tmp/1',
      '--fence',
      lease.fence.toString(),
      '-o',
      'json',
    );
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as {
      scope: string;
      previous: { leaderId: string; fenceToken: string };
      successor: null;
    };
    expect(body).toMatchObject({
      scope: 'shard/tmp/1',
      previous: { leaderId: 'tmp-c', fenceToken: lease.fence.toString() },
      successor: null,
    });
    const after = await cli('mesh', 'leaders', 'status', '--scope', 'shard/tmp/1');
    expect(after.stdout).toBe('scope "shard/tmp/1" has no holder (vacant)\n');
  }, 20_000);

  it('streams a snapshot and then each change as JSON lines with --watch -o json', async () => {
    const run = startCli([
      '--endpoints',
      endpoints,
      'mesh',
      'leaders',
      'status',
      '--prefix',
      'shard/json/',
      '--watch',
      '-o',
      'json',
    ]);
    try {
      await waitFor(
        'the snapshot line',
        () => run.stdout().includes('"type":"snapshot"'),
        10_000,
        run.stderr,
      );
      const lease = (await client.acquire('shard/json/1', { ttlMs: 30_000, candidateId: 'json-d' }))!;
      await lease.resign();
      await waitFor(
        'two event lines',
        () => run.stdout().trimEnd().split('\n').length >= 3,
        10_000,
        run.stdout,
      );
    } finally {
      run.stop();
    }
    expect(await run.done).toBe(0);
    const lines = run
      .stdout()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ type: 'snapshot', leaders: [] });
    expect(lines.slice(1).map((l) => [l['type'], l['scope'], l['reason']])).toEqual([
      ['event', 'shard/json/1', 'granted'],
      ['event', 'shard/json/1', 'resigned'],
    ]);
    const granted = expectLeaseToken(lines[1]!['holder']);
    expect(granted['leaderId']).toBe('json-d');
    expect(lines[2]!['previous']).toEqual({ leaderId: 'json-d', fenceToken: granted['fenceToken'] });
    expect(run.stderr()).toBe('');
  }, 30_000);

  it(
    'runs as a process through the bin wrapper',
    async () => {
      const list = await runChild(['--endpoints', endpoints, 'mesh', 'leaders', 'status', '-o', 'json']);
      expect(list.stderr).toBe('');
      expect(list.code).toBe(0);
      const body = JSON.parse(list.stdout) as { leaders: { scope: string; fenceToken: string }[] };
      expect(body.leaders.map((l) => l.scope)).toEqual(['global-control', 'shard/orders/1']);

      const table = await runChild(['--endpoints', endpoints, 'status']);
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^ENDPOINT +ID +ROLE/);

      const stale = await runChild([
        '--endpoints',
        endpoints,
        'fence',
        'validate',
        '--scope',
        'global-control',
        '--fence',
        (control.fence - 1n).toString(),
      ]);
      expect(stale.code).toBe(5);
      expect(stale.stdout).toBe('');
      expectOneErrorLine(stale.stderr);

      const usage = await runChild(['fence', 'validate', '--scope', 'global-control', '--fence', 'abc']);
      expect(usage.code).toBe(2);
      expectOneErrorLine(usage.stderr);
    },
    4 * CHILD_TIMEOUT_MS,
  );

  it('hands Raft leadership to another voter', async () => {
    const before = await cluster().waitForLeader(10_000);
    const to = before === 'n1' ? 'n2' : 'n1';
    const r = await cli('cluster', 'transfer-leader', '--to', to, '-o', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      leader: to,
      term: expect.stringMatching(/^\d+$/) as unknown,
    });
    // To the member that already leads: done at once, not a timeout (exit 6).
    const again = await cli('cluster', 'transfer-leader', '--to', to, '-o', 'json');
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(again.stdout)).toMatchObject({ leader: to });
    const bad = await cli('cluster', 'transfer-leader', '--to', 'n9');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('(INVALID_TRANSFER_TARGET)');
  }, 30_000);
});
