import type { Command } from 'commander';
import { usageError } from '../cli-error';
import type { CliIo } from '../context';
import { EXIT } from '../exit-codes';
import type { ExitCode } from '../exit-codes';
import type { IssuedFiles } from '@omnirelay/certs';
import {
  CA_DAYS_DEFAULT,
  CLIENT_ROLES,
  DAYS_MAX,
  LEAF_DAYS_DEFAULT,
  NODE_DNS_DEFAULT,
  NODE_IPS_DEFAULT,
  identityUri,
  issueCa,
  issueClient,
  issueNode,
} from '@omnirelay/certs';
import { issuedJson, issuedText } from '../format/cert';
import type { OutputFormat } from '../options';
import { parseOutput } from '../options';
import type { BindLocal } from './action';
import { collectList, listOption, stringOption } from './action';

/** CLUSTER_ID_ENV gives --cluster-id's default, as it gives the server's (same variable). */
export const CLUSTER_ID_ENV = 'OMNIRELAY_CLUSTER_ID';

/** CLUSTER_ID_DEFAULT is the server's default cluster id, and so --cluster-id's last default. */
export const CLUSTER_ID_DEFAULT = 'omnirelay';

/**
 * registerCert adds `omnirelay cert issue ca|node|client`, which make a CA and issue node and
 * client certificates into a folder (see cert/issue.ts). They touch only local files.
 */
export function registerCert(program: Command, bind: BindLocal): void {
  const cert = program.command('cert').description('certificates for TLS between nodes and clients');
  const issue = cert.command('issue').description('make a CA, or issue a node or client certificate');

  bind(
    common(
      issue.command('ca').description('make a new CA: ca.crt and ca.key in --out'),
      CA_DAYS_DEFAULT,
    ).option('--name <name>', 'the CA\'s common name (default: "OmniRelay CA <cluster-id>")'),
    async (io, options) => {
      const output = outputOption(options);
      const clusterId = clusterIdOption(io, options);
      const files = await issueCa({
        ...commonOptions(options),
        clusterId,
        name: stringOption(options, 'name'),
      });
      return report(io, output, files, `CA certificate for cluster ${clusterId}`);
    },
  );

  bind(
    signed(
      issue
        .command('node')
        .description('issue a node certificate (TLS server and peer): <id>.crt and <id>.key in --out')
        .requiredOption('--id <id>', 'the member id the certificate proves'),
    )
      .option(
        '--dns <names>',
        `DNS names (repeatable or a comma list; default: ${NODE_DNS_DEFAULT.join(',')})`,
        collectList,
      )
      .option(
        '--ip <addresses>',
        `IP addresses (repeatable or a comma list; default: ${NODE_IPS_DEFAULT.join(',')})`,
        collectList,
      ),
    async (io, options) => {
      const output = outputOption(options);
      const clusterId = clusterIdOption(io, options);
      const id = stringOption(options, 'id') ?? '';
      const files = await issueNode({
        ...signedOptions(options),
        clusterId,
        id,
        dns: listOption(options, 'dns'),
        ips: listOption(options, 'ip'),
      });
      return report(io, output, files, `node certificate for ${identityUri('node', clusterId, id)}`);
    },
  );

  bind(
    signed(
      issue
        .command('client')
        .description('issue a client certificate: <name>.crt and <name>.key in --out')
        .requiredOption('--name <name>', 'the client identity the certificate proves'),
    )
      .option(`--role <roles>`, `roles (repeatable or a comma list): ${CLIENT_ROLES.join(', ')}`, collectList)
      .option(
        '--scope-prefix <prefixes>',
        'scope prefixes the client may campaign for (repeatable or a comma list), e.g. shard/orders/; * for every scope',
        collectList,
      ),
    async (io, options) => {
      const output = outputOption(options);
      const clusterId = clusterIdOption(io, options);
      const name = stringOption(options, 'name') ?? '';
      const roles = listOption(options, 'role') ?? [];
      const files = await issueClient({
        ...signedOptions(options),
        clusterId,
        name,
        roles,
        scopePrefixes: listOption(options, 'scopePrefix'),
      });
      const granted = roles.length === 0 ? 'no roles' : `roles ${[...new Set(roles)].join(',')}`;
      return report(
        io,
        output,
        files,
        `client certificate for ${identityUri('client', clusterId, name)}, ${granted}`,
      );
    },
  );
}

/** common adds the options of every `cert issue` command. */
function common(command: Command, defaultDays: number): Command {
  return command
    .requiredOption('--out <dir>', 'the folder to write to (created, mode 0700, when missing)')
    .option('--cluster-id <id>', `the cluster id (default: $${CLUSTER_ID_ENV}, else ${CLUSTER_ID_DEFAULT})`)
    .option('--days <days>', `validity in days, 1 to ${DAYS_MAX} (default: ${defaultDays})`)
    .option('--force', 'overwrite existing files');
}

/** signed adds the options of the commands that sign with a CA. */
function signed(command: Command): Command {
  return common(command, LEAF_DAYS_DEFAULT).option(
    '--ca <dir>',
    "the folder holding the CA's ca.crt and ca.key (default: --out)",
  );
}

function commonOptions(options: Readonly<Record<string, unknown>>): {
  outDir: string;
  days: number | undefined;
  overwrite: boolean;
} {
  const days = stringOption(options, 'days');
  return {
    outDir: stringOption(options, 'out') ?? '',
    days: days === undefined ? undefined : parseDays(days),
    overwrite: options['force'] === true,
  };
}

function signedOptions(
  options: Readonly<Record<string, unknown>>,
): ReturnType<typeof commonOptions> & { caDir: string } {
  const base = commonOptions(options);
  return { ...base, caDir: stringOption(options, 'ca') ?? base.outDir };
}

function clusterIdOption(io: CliIo, options: Readonly<Record<string, unknown>>): string {
  const fromEnv = io.env[CLUSTER_ID_ENV];
  return (
    stringOption(options, 'clusterId') ??
    (fromEnv !== undefined && fromEnv !== '' ? fromEnv : CLUSTER_ID_DEFAULT)
  );
}

/** parseDays reads --days: a whole number (its range is checked with the other inputs). */
function parseDays(text: string): number {
  if (!/^\d{1,9}$/.test(text)) {
    throw usageError(`--days ${JSON.stringify(text)} is not a whole number of days`, `give e.g. --days 365`);
  }
  return Number(text);
}

/** outputOption reads the global -o/--output before anything is written, so a bad one writes nothing. */
function outputOption(options: Readonly<Record<string, unknown>>): OutputFormat {
  return parseOutput(stringOption(options, 'output') ?? 'table');
}

function report(io: CliIo, output: OutputFormat, files: IssuedFiles, what: string): ExitCode {
  io.stdout(output === 'json' ? issuedJson(files) : issuedText(files, what));
  return EXIT.OK;
}
