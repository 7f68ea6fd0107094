import type { SingleNode } from '../../../server/test/support/single-node';
import { startSingleNode } from '../../../server/test/support/single-node';
import { runCliInProcess } from '../support/run-cli';

describe('omnirelay mesh clusters list and set against one node', () => {
  jest.setTimeout(30_000);
  let node: SingleNode;
  let endpoint = '';

  beforeAll(async () => {
    node = await startSingleNode();
    endpoint = node.server.grpcAddress;
  });

  afterAll(async () => {
    await node.stop();
  });

  it('says a cluster without a descriptor is active in epoch 0', async () => {
    const run = await runCliInProcess(['--endpoints', endpoint, 'mesh', 'clusters', 'list']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('no cluster descriptor set: this cluster is active in failover epoch 0');
  });

  it('lists the descriptors and the replication once set, as a table and as JSON', async () => {
    const set = await runCliInProcess([
      '--endpoints',
      endpoint,
      'mesh',
      'clusters',
      'set',
      '--id',
      'b',
      '--state',
      'passive',
      '--epoch',
      '3',
      '--region',
      'eu-west',
      '--endpoint',
      endpoint,
      '--reason',
      'drill',
    ]);
    expect(set).toMatchObject({ code: 0, stderr: '' });
    const table = await runCliInProcess(['--endpoints', endpoint, 'mesh', 'clusters', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^b +yes +passive +3 +eu-west/m);
    const json = await runCliInProcess(['--endpoints', endpoint, '-o', 'json', 'mesh', 'clusters', 'list']);
    expect(JSON.parse(json.stdout)).toMatchObject({ clusterId: 'b', state: 'passive', failoverEpoch: 3 });
  });

  it('refuses a bad state as usage (exit 2) and a lower epoch as EPOCH_REGRESSION (exit 5)', async () => {
    const base = ['--endpoints', endpoint, 'mesh', 'clusters', 'set', '--id', 'b'];
    const usage = await runCliInProcess([...base, '--state', 'standby']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--state "standby" is not a cluster state');
    const regress = await runCliInProcess([...base, '--state', 'passive', '--epoch', '1']);
    expect(regress.code).toBe(5);
    expect(regress.stderr).toContain('EPOCH_REGRESSION');
  });

  it('refuses a promotion whose preflight fails, naming why (exit 5)', async () => {
    const wrong = await runCliInProcess(['--endpoints', endpoint, 'mesh', 'clusters', 'promote', 'c']);
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain('the endpoints reach cluster "b", not "c"');
    const alone = await runCliInProcess(['--endpoints', endpoint, 'mesh', 'clusters', 'promote', 'b']);
    expect(alone.code).toBe(5);
    expect(alone.stderr).toContain('cluster b follows no active cluster');
  });
});
