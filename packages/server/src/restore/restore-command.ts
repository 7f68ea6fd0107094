import { Command, CommanderError } from 'commander';
import { forceNewCluster } from './force-new-cluster';
import { RestoreError, restoreBackup } from './restore';

/** CommandIo is where a one-shot command of the server's binary writes. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/**
 * runRestoreCommand runs `omnirelay-server restore <file> --data-dir … --id … --members id=peer,…
 * --cluster-id … [--bump-index N]` (argv after `restore`): it prints one line on stdout on
 * success and resolves 0, or one line on stderr and resolves 2 (bad input, nothing written).
 */
export async function runRestoreCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const program = new Command('omnirelay-server restore')
    .description(
      'create the data folder of one member of a NEW cluster from a backup (omnirelay snapshot save)',
    )
    .argument('<file>', 'the backup file')
    .requiredOption('--data-dir <dir>', 'the data folder to create (must be missing or empty)')
    .requiredOption('--id <id>', 'this member’s id (one of --members)')
    .requiredOption('--members <list>', 'the new cluster’s voters: id=peerHost:port,...')
    .requiredOption('--cluster-id <id>', 'the new cluster’s id (not the backup’s)')
    .option('--bump-index <n>', 'raise indexes and fences this far above the backup’s', '0');
  return runOneShot(program, argv, io, 'restore', async (o) => {
    const r = await restoreBackup({
      file: program.args[0] ?? '',
      dataDir: o.dataDir,
      id: o.id,
      members: o.members ?? '',
      clusterId: o.clusterId,
      bumpIndex: wholeNumber(o.bumpIndex),
    });
    return `restored ${o.id} into ${o.dataDir}: cluster ${o.clusterId}, index ${r.index} (backup ${r.backupIndex}), term ${r.term}, voters ${r.voters.join(',')}; start it with --cluster-id ${o.clusterId} --data-dir ${o.dataDir}`;
  });
}

/**
 * runForceNewClusterCommand runs `omnirelay-server force-new-cluster --data-dir … --id …
 * --cluster-id … --bump-index N` (argv after `force-new-cluster`) on a STOPPED surviving member:
 * progress lines on stderr (`omnirelay-server force-new-cluster: …`), one result line on stdout
 * and 0, or one error line on stderr and 2 with the folder unchanged (see forceNewCluster).
 */
export async function runForceNewClusterCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const program = new Command('omnirelay-server force-new-cluster')
    .description(
      'turn the data folder of ONE surviving member into a single-member NEW cluster, when the majority is lost for good',
    )
    .requiredOption('--data-dir <dir>', 'the surviving member’s data folder (the node must be stopped)')
    .requiredOption('--id <id>', 'the surviving member’s id')
    .requiredOption('--cluster-id <id>', 'the new cluster’s id (not the old one)')
    .requiredOption(
      '--bump-index <n>',
      'raise indexes and fences this far above the survivor’s last entry: at least how far the lost members may have been ahead (see the runbook)',
    );
  return runOneShot(program, argv, io, 'force-new-cluster', async (o) => {
    const r = await forceNewCluster({
      dataDir: o.dataDir,
      id: o.id,
      clusterId: o.clusterId,
      bumpIndex: wholeNumber(o.bumpIndex),
      progress: (line) => io.stderr(`omnirelay-server force-new-cluster: ${line}\n`),
    });
    return `forced a new cluster ${o.clusterId} from ${o.id} (was ${r.oldClusterId}): index ${r.index} (last ${r.lastIndex}, committed ${r.commitIndex}, ${r.keptUncommitted} uncommitted entries kept), term ${r.term}, the original folder is ${r.asideDir}; start ${o.id} with --cluster-id ${o.clusterId}, then add members back with 'omnirelay cluster add-learner' and 'promote'`;
  });
}

/** OneShotOptions are the options the one-shot commands share (each uses its own). */
interface OneShotOptions {
  readonly dataDir: string;
  readonly id: string;
  readonly members?: string;
  readonly clusterId: string;
  readonly bumpIndex: string;
}

/**
 * runOneShot parses `argv` with `program` (commander prints usage errors and help itself) and
 * runs `run`: its line on stdout and 0, or a RestoreError as one line on stderr and 2.
 */
async function runOneShot(
  program: Command,
  argv: readonly string[],
  io: CommandIo,
  name: string,
  run: (options: OneShotOptions) => Promise<string>,
): Promise<number> {
  program.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  try {
    io.stdout(`${await run(program.opts<OneShotOptions>())}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof RestoreError)) throw e;
    io.stderr(`omnirelay-server ${name}: ${e.message}\n`);
    return 2;
  }
}

/** wholeNumber reads a decimal count; anything else is NaN, which the library refuses by name. */
function wholeNumber(text: string): number {
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}
