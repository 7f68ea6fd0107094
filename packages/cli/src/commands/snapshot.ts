import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { SnapshotFile } from '@omnirelay/snapshot-file';
import { decodeSnapshotFile, isSnapshotFileError } from '@omnirelay/snapshot-file';
import { usageError } from '../cli-error';
import { EXIT } from '../exit-codes';
import { parseOutput } from '../options';
import { SERVER_BIN_ENV, runServerCommand } from '../server-command';
import type { Bind, BindLocal } from './action';
import { stringOption } from './action';

/** SNAPSHOT_PROGRESS_BYTES: `snapshot save` reports progress on stderr each time this much more arrived. */
export const SNAPSHOT_PROGRESS_BYTES = 16 * 1024 * 1024;

/**
 * registerSnapshot adds `omnirelay snapshot save <file>`, which downloads a consistent backup
 * from the leader (mesh.admin), `omnirelay snapshot status <file>`, which verifies one and
 * prints what it holds, and `omnirelay snapshot restore <file> …`, which runs
 * `omnirelay-server restore` (server-command.ts): restoring writes a Raft store, which needs the
 * server's code, and the CLI's code depends on the SDK only, so there is one implementation.
 */
export function registerSnapshot(program: Command, bind: Bind, bindLocal: BindLocal): void {
  const snapshot = program.command('snapshot').description('back up the cluster and inspect backups');

  bind(
    withFile(snapshot.command('save').description('save a consistent backup taken by the leader to <file>')),
    async (ctx, options) => {
      const file = stringOption(options, 'file') ?? '';
      const saved = await ctx.withClient((client) =>
        saveAtomically(file, (write) => client.snapshot(write), ctx.io.stderr),
      );
      ctx.io.stdout(
        ctx.output === 'json'
          ? `${JSON.stringify({ file, bytes: saved.bytes, ...statusJson(saved.snapshot) })}\n`
          : `saved ${saved.bytes} bytes to ${file}: index ${saved.snapshot.header.index}, term ${saved.snapshot.header.term}, sha256 ${saved.snapshot.sha256}\n`,
      );
      return EXIT.OK;
    },
  );

  bindLocal(
    withFile(
      snapshot
        .command('restore')
        .description(
          'create the data folder of one member of a NEW cluster from a backup (runs omnirelay-server restore)',
        )
        .requiredOption('--data-dir <dir>', 'the data folder to create (must be missing or empty)')
        .requiredOption('--id <id>', "this member's id (one of --members)")
        .requiredOption('--members <list>', "the new cluster's voters: id=peerHost:port,...")
        .option(
          '--cluster-id <id>',
          "the new cluster's id (default: <backup's id>-restored-<backup index>, the same for every member)",
        )
        .option('--bump-index <n>', "raise indexes and fences this far above the backup's", '0')
        .addHelpText(
          'after',
          [
            '',
            'Run it once per member with the same file, --members and --cluster-id, then start each',
            'member with --cluster-id. Bad input (a damaged file, a folder that is not empty) is exit 2',
            `and writes nothing. The server binary is found through $${SERVER_BIN_ENV}, the repository,`,
            'or PATH.',
          ].join('\n'),
        ),
    ),
    async (io, options) => {
      const file = stringOption(options, 'file') ?? '';
      const header = decodeOrExplain(await readBackup(file), file).header;
      const clusterId = stringOption(options, 'clusterId') ?? `${header.clusterId}-restored-${header.index}`;
      return runServerCommand(io, [
        'restore',
        file,
        '--data-dir',
        stringOption(options, 'dataDir') ?? '',
        '--id',
        stringOption(options, 'id') ?? '',
        '--members',
        stringOption(options, 'members') ?? '',
        '--cluster-id',
        clusterId,
        '--bump-index',
        stringOption(options, 'bumpIndex') ?? '0',
      ]);
    },
  );

  bindLocal(
    withFile(snapshot.command('status').description('verify a backup and print what it holds')),
    async (io, options) => {
      const output = parseOutput(stringOption(options, 'output') ?? 'table');
      const file = stringOption(options, 'file') ?? '';
      const decoded = decodeOrExplain(await readBackup(file), file);
      io.stdout(output === 'json' ? `${JSON.stringify(statusJson(decoded))}\n` : statusText(decoded));
      return EXIT.OK;
    },
  );
}

/** withFile adds the `<file>` argument and hands it to the action as the `file` option. */
function withFile(command: Command): Command {
  return command.argument('<file>', 'the backup file').hook('preAction', (self) => {
    self.setOptionValue('file', self.args[0]);
  });
}

/**
 * saveAtomically streams a download into a new temporary file beside `file` (mode 0600, created
 * exclusively), syncs it, verifies it as a backup, and only then renames it over `file`: a
 * failed or interrupted save leaves `file` as it was and no partial file behind.
 */
async function saveAtomically(
  file: string,
  download: (write: (chunk: Uint8Array) => Promise<void>) => Promise<{ bytes: number }>,
  progress: (text: string) => void,
): Promise<{ bytes: number; snapshot: SnapshotFile }> {
  if (file === '') throw usageError('snapshot save needs a file', 'give the file to write, e.g. backup.snap');
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.part`);
  const handle = await open(temporary, 'wx', 0o600).catch((e: unknown) => {
    throw usageError(
      `cannot create ${temporary} (${errorText(e)})`,
      'check the folder exists and is writable',
    );
  });
  let done = false;
  try {
    let reported = 0;
    const { bytes } = await download(async (chunk) => {
      await handle.write(chunk);
      const position = (await handle.stat()).size;
      if (position - reported >= SNAPSHOT_PROGRESS_BYTES) {
        reported = position;
        progress(`omnirelay: snapshot save: ${Math.floor(position / (1024 * 1024))} MiB received\n`);
      }
    });
    await handle.sync();
    await handle.close();
    done = true;
    const snapshot = decodeOrExplain(await readFile(temporary), 'the downloaded snapshot');
    await rename(temporary, file);
    return { bytes, snapshot };
  } finally {
    if (!done) await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
  }
}

async function readBackup(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw usageError(
      `cannot read ${file} (${errorText(e)})`,
      'give the path of a file that snapshot save wrote',
    );
  }
}

/** decodeOrExplain verifies a backup; a bad one is a one-line usage error (exit 2) naming `what`. */
function decodeOrExplain(bytes: Uint8Array, what: string): SnapshotFile {
  try {
    return decodeSnapshotFile(bytes);
  } catch (e) {
    if (!isSnapshotFileError(e)) throw e;
    throw usageError(`${what}: ${e.message} (${e.code})`, 'use another backup, or save a new one');
  }
}

function statusJson(s: SnapshotFile): Record<string, unknown> {
  return { ...s.header, sha256: s.sha256, checksumOk: true };
}

function statusText(s: SnapshotFile): string {
  const h = s.header;
  const learners = h.membership.learners.length === 0 ? '-' : h.membership.learners.join(',');
  return [
    `cluster id   ${h.clusterId}`,
    `index        ${h.index}`,
    `term         ${h.term}`,
    `voters       ${h.membership.voters.join(',')}`,
    `learners     ${learners}`,
    `scopes       ${h.scopes}`,
    `leases       ${h.leases}`,
    `waiting      ${h.waiting}`,
    `taken by     ${h.takenBy} at ${new Date(h.takenAtMs).toISOString()}`,
    `state bytes  ${h.dataBytes}`,
    `sha256       ${s.sha256} (ok)`,
    '',
  ].join('\n');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
