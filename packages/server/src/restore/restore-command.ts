import { Command, CommanderError } from 'commander';
import { RestoreError, restoreBackup } from './restore';

/**
 * runRestoreCommand runs `omnirelay-server restore <file> --data-dir … --id … --members id=peer,…
 * --cluster-id … [--bump-index N]` (argv after `restore`): it prints one line on stdout on
 * success and resolves 0, or one line on stderr and resolves 2 (bad input, nothing written).
 */
export async function runRestoreCommand(
  argv: readonly string[],
  io: { stdout: (text: string) => void; stderr: (text: string) => void },
): Promise<number> {
  const program = new Command('omnirelay-server restore')
    .description(
      'create the data folder of one member of a NEW cluster from a backup (omnirelay snapshot save)',
    )
    .argument('<file>', 'the backup file')
    .requiredOption('--data-dir <dir>', 'the data folder to create (must be missing or empty)')
    .requiredOption('--id <id>', 'this member’s id (one of --members)')
    .requiredOption('--members <list>', 'the new cluster’s voters: id=peerHost:port,...')
    .requiredOption('--cluster-id <id>', 'the new cluster’s id (not the backup’s)')
    .option('--bump-index <n>', 'raise indexes and fences this far above the backup’s', '0')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = program.opts<{
    dataDir: string;
    id: string;
    members: string;
    clusterId: string;
    bumpIndex: string;
  }>();
  try {
    const bump = /^\d+$/.test(o.bumpIndex) ? Number(o.bumpIndex) : Number.NaN;
    const r = await restoreBackup({
      file: program.args[0] ?? '',
      dataDir: o.dataDir,
      id: o.id,
      members: o.members,
      clusterId: o.clusterId,
      bumpIndex: bump,
    });
    io.stdout(
      `restored ${o.id} into ${o.dataDir}: cluster ${o.clusterId}, index ${r.index} (backup ${r.backupIndex}), term ${r.term}, voters ${r.voters.join(',')}; start it with --cluster-id ${o.clusterId} --data-dir ${o.dataDir}\n`,
    );
    return 0;
  } catch (e) {
    if (!(e instanceof RestoreError)) throw e;
    io.stderr(`omnirelay-server restore: ${e.message}\n`);
    return 2;
  }
}
