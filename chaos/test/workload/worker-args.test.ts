import { parseWorkerArgs } from '../../src/workload/worker-args';
import { exited, startScript } from '../helpers/processes';

const GOOD = [
  ...['--id', 'w1', '--endpoints', '127.0.0.1:1,127.0.0.1:2', '--scopes', 'a,b'],
  ...['--store', 'http://127.0.0.1:7400', '--out', '/tmp/run', '--seed', '7'],
  ...['--duration-ms', '10000', '--ttl-ms', '1500'],
];

describe('parseWorkerArgs', () => {
  it('reads every option, with mixed mode and no self-stop by default', () => {
    expect(parseWorkerArgs(GOOD)).toEqual({
      id: 'w1',
      endpoints: ['127.0.0.1:1', '127.0.0.1:2'],
      scopes: ['a', 'b'],
      store: 'http://127.0.0.1:7400',
      out: '/tmp/run',
      seed: 7,
      durationMs: 10_000,
      ttlMs: 1500,
      tokenFile: undefined,
      mode: 'mixed',
      stopBeforeWriteAtMs: undefined,
      historyClock: 'hrtime',
    });
    expect(
      parseWorkerArgs([...GOOD, '--mode', 'acquire', '--token-file', 't', '--stop-before-write-at-ms', '0']),
    ).toMatchObject({ mode: 'acquire', tokenFile: 't', stopBeforeWriteAtMs: 0 });
    expect(parseWorkerArgs([...GOOD, '--history-clock', 'kernel'])).toMatchObject({ historyClock: 'kernel' });
  });

  it.each([
    [['--id', 'w 1'], '--id must be 1 to 64 of [A-Za-z0-9._-]'],
    [['--endpoints', ''], '--endpoints is required'],
    [['--endpoints', 'localhost'], '--endpoints must be host:port items, got localhost'],
    [['--scopes', ','], '--scopes is required'],
    [['--store', 'ftp://x'], "--store must be the store's base URL"],
    [['--seed', '1.5'], '--seed must be an integer from 0 to 4294967295, got 1.5'],
    [['--duration-ms', '0'], '--duration-ms must be an integer from 1 to 3600000, got 0'],
    [['--ttl-ms', '100'], '--ttl-ms must be an integer from 500 to 3600000, got 100'],
    [['--mode', 'sometimes'], '--mode must be mixed, campaign or acquire, got sometimes'],
    [['--stop-before-write-at-ms', 'soon'], '--stop-before-write-at-ms must be an integer'],
    [['--history-clock', 'wall'], '--history-clock must be hrtime or kernel, got wall'],
    [['--unknown', 'x'], "Unknown option '--unknown'"],
  ])('refuses %j naming the option', (override, message) => {
    const args = [...GOOD];
    const at = args.indexOf(override[0]!);
    if (at >= 0) args.splice(at, 2, ...override);
    else args.push(...override);
    expect(parseWorkerArgs(args)).toContain(message);
  });

  it('names a missing required option', () => {
    expect(parseWorkerArgs(GOOD.slice(2))).toContain('--id must be');
    const out = GOOD.indexOf('--out');
    expect(parseWorkerArgs(GOOD.filter((_, i) => i !== out && i !== out + 1))).toContain('--out is required');
  });
});

describe('chaos/src/workload/worker.ts with bad arguments', () => {
  jest.setTimeout(30_000);

  it('exits 2 with the message on stderr', async () => {
    const worker = startScript('chaos/src/workload/worker.ts', [...GOOD, '--ttl-ms', '1']);
    try {
      expect(await exited(worker)).toBe(2);
      expect(worker.stderr.join('')).toContain('worker: --ttl-ms must be an integer from 500');
    } finally {
      if (worker.child.exitCode === null) process.kill(worker.child.pid!, 'SIGKILL');
    }
  });

  it('exits 2 naming a token file it cannot read', async () => {
    const worker = startScript('chaos/src/workload/worker.ts', [
      ...GOOD,
      '--token-file',
      '/nonexistent/token',
    ]);
    try {
      expect(await exited(worker)).toBe(2);
      expect(worker.stderr.join('')).toContain('worker: --token-file /nonexistent/token: ENOENT');
    } finally {
      if (worker.child.exitCode === null) process.kill(worker.child.pid!, 'SIGKILL');
    }
  });
});
