import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeadershipFsm } from '@omnirelay/leadership-fsm';
import { encodeSnapshotFile } from '@omnirelay/snapshot-file';
import { EXIT } from '../../src/exit-codes';
import { SERVER_BIN_ENV } from '../../src/server-command';
import { expectOneErrorLine, runCliInProcess } from '../support/run-cli';

jest.setTimeout(120_000);

const BACKUP_INDEX = 42;

describe('omnirelay snapshot restore runs omnirelay-server restore', () => {
  const root = mkdtempSync(join(tmpdir(), 'omnirelay-cli-restore-'));
  const backup = join(root, 'backup.snap');

  beforeAll(() => {
    const parts = encodeSnapshotFile(
      {
        clusterId: 'prod',
        index: BACKUP_INDEX,
        term: 3,
        membership: { voters: ['n1', 'n2', 'n3'], learners: [] },
        takenBy: 'n1',
        takenAtMs: 0,
        scopes: 0,
        leases: 0,
        waiting: 0,
      },
      new LeadershipFsm().snapshot(),
    );
    writeFileSync(backup, Buffer.concat(parts));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const restore = (dir: string, extra: string[] = [], env: Record<string, string> = {}) =>
    runCliInProcess(
      [
        'snapshot',
        'restore',
        backup,
        '--data-dir',
        dir,
        '--id',
        'r1',
        '--members',
        'r1=127.0.0.1:7001,r2=127.0.0.1:7002',
        ...extra,
      ],
      { env },
    );

  it('creates the member folder with the default new cluster id, named after the backup', async () => {
    const dir = join(root, 'r1');
    const r = await restore(dir, ['--bump-index', '1000']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    expect(r.stdout).toMatch(/^restored r1 into .*: cluster prod-restored-42, index 1042 \(backup 42\)/);
    expect(existsSync(join(dir, 'CURRENT'))).toBe(true);
  });

  it('refuses a folder that is not empty with the server’s one line, exit 2, and leaves it as it was', async () => {
    const dir = join(root, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep.txt'), 'x');
    const r = await restore(dir, ['--cluster-id', 'other']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(
      /^omnirelay-server restore: --data-dir .* is not empty .*nothing was written\n$/,
    );
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('refuses a tampered backup before running the server, writing nothing', async () => {
    const bytes = readFileSync(backup);
    bytes[bytes.length - 40] = bytes[bytes.length - 40]! ^ 0xff;
    const tampered = join(root, 'tampered.snap');
    writeFileSync(tampered, bytes);
    const dir = join(root, 'from-tampered');
    const r = await runCliInProcess([
      'snapshot',
      'restore',
      tampered,
      '--data-dir',
      dir,
      '--id',
      'r1',
      '--members',
      'r1=127.0.0.1:7001',
    ]);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(/SNAPSHOT_CHECKSUM_MISMATCH/);
    expect(existsSync(dir)).toBe(false);
  });

  it('says how to point it at the server when omnirelay-server cannot be run', async () => {
    const dir = join(root, 'no-server');
    const r = await restore(dir, [], { [SERVER_BIN_ENV]: join(root, 'missing', 'omnirelay-server') });
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`not installed here; .*${SERVER_BIN_ENV}`));
    expect(existsSync(dir)).toBe(false);
  });
});
