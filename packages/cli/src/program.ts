import { Command, CommanderError } from 'commander';
import { describeFailure, oneLine } from './cli-error';
import type { Action, Bind, BindLocal, LocalAction } from './commands/action';
import { registerCert } from './commands/cert';
import { registerCluster } from './commands/cluster';
import { registerFence } from './commands/fence';
import { registerLeadership } from './commands/leadership';
import { registerMeshClusters } from './commands/mesh-clusters';
import { registerMeshLeaders } from './commands/mesh-leaders';
import { registerStatus } from './commands/status';
import { registerSnapshot } from './commands/snapshot';
import { registerToken } from './commands/token';
import type { CliIo, GlobalOptions } from './context';
import { CommandContext } from './context';
import type { ExitCode } from './exit-codes';
import { EXIT, EXIT_CODES_HELP } from './exit-codes';
import { DEFAULT_ENDPOINTS, ENDPOINTS_ENV, TIMEOUT_MS_DEFAULT, TLS_ENV, TOKEN_ENV } from './options';
import { cliVersion } from './version';

/** Outcome is filled in by the command that runs: its exit code. */
export interface Outcome {
  exitCode: ExitCode;
}

/** ROOT_HELP_EPILOGUE ends `omnirelay --help`: the environment and the exit codes. */
const ROOT_HELP_EPILOGUE = [
  '',
  'Environment:',
  `  ${ENDPOINTS_ENV}  endpoints when --endpoints is not given (default ${DEFAULT_ENDPOINTS.join(',')})`,
  `  ${TLS_ENV.cacert}, ${TLS_ENV.cert}, ${TLS_ENV.key}  files when --cacert, --cert, --key are not given`,
  `  ${TOKEN_ENV.token}, ${TOKEN_ENV.tokenFile}  the bearer token when neither --token nor --token-file is given`,
  '',
  'Errors are one line on stderr: "omnirelay: <what went wrong>; <what to do next>".',
  EXIT_CODES_HELP,
].join('\n');

/**
 * buildProgram builds the `omnirelay` commander program around `io`. Commander never prints
 * its own errors or exits: runCli turns every failure into one line and an exit code. The
 * command that runs stores its exit code in `outcome`; `onFailure` hears which command commander
 * failed to parse (for the "--help" hint).
 */
export function buildProgram(io: CliIo, outcome: Outcome, onFailure: (command: Command) => void): Command {
  const program = new Command('omnirelay');
  program
    .description('Operate an OmniRelay control-plane cluster: who leads each scope, fences, Raft status.')
    .version(cliVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for the command')
    .option(
      '--endpoints <list>',
      `comma-separated host:port of the nodes' gRPC APIs (default: $${ENDPOINTS_ENV}, else ${DEFAULT_ENDPOINTS.join(',')})`,
    )
    .option(
      '--timeout <ms>',
      `bound on each call to the cluster, retries included (default: ${TIMEOUT_MS_DEFAULT})`,
    )
    .option('-o, --output <format>', 'table or json (default: table)')
    .option('--cacert <file>', "CA bundle (PEM) that verifies the nodes' certificates: talk TLS")
    .option('--cert <file>', 'client certificate (PEM) for mutual TLS, with --key')
    .option('--key <file>', 'private key (PEM) of --cert')
    .option('--token <token>', 'bearer token sent on every call (visible in ps: prefer --token-file)')
    .option('--token-file <file>', 'file whose first line is the bearer token')
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', ROOT_HELP_EPILOGUE);
  program.helpCommand('help [command]', 'show help for a command');

  const bind: Bind = (command: Command, action: Action) =>
    command.action(async (...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      const ctx = new CommandContext(io, self.optsWithGlobals<GlobalOptions>());
      outcome.exitCode = await action(ctx, self.opts());
    });
  registerStatus(program, bind);
  registerMeshLeaders(program, bind);
  registerMeshClusters(program, bind);
  registerLeadership(program, bind);
  registerFence(program, bind);
  registerCluster(program, bind);
  const bindLocal: BindLocal = (command: Command, action: LocalAction) =>
    command.action(async (...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      outcome.exitCode = await action(io, self.optsWithGlobals());
    });
  registerCert(program, bindLocal);
  registerToken(program, bindLocal);
  registerSnapshot(program, bind, bindLocal);

  // Help goes to stdout; commander's own error text and error-help are dropped in favour of
  // runCli's single line, but we note which command failed.
  const configure = (command: Command): void => {
    command.configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: () => onFailure(command),
      outputError: () => onFailure(command),
    });
    for (const sub of command.commands) configure(sub);
  };
  configure(program);
  return program;
}

/**
 * runCli runs `omnirelay` with `argv` (without the node and script paths) and resolves to the
 * exit code. Every failure is one line on io.stderr: bad usage is exit 2; an SDK error exits
 * with its code's exit code (exit-codes.ts); `--help` and `--version` exit 0.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const outcome: Outcome = { exitCode: EXIT.OK };
  let failed: Command | undefined;
  const program = buildProgram(io, outcome, (command) => (failed = command));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return outcome.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return usageFailure(e, failed ?? program, io);
    const failure = describeFailure(e);
    io.stderr(`${failure.line}\n`);
    return failure.exitCode;
  }
}

/** usageFailure answers a commander parse failure: help and version exit 0, the rest is bad usage. */
function usageFailure(e: CommanderError, command: Command, io: CliIo): ExitCode {
  if (e.exitCode === 0) return EXIT.OK; // --help, help, --version
  const path = commandPath(command);
  const what =
    e.code === 'commander.help'
      ? `'${path}' needs a command (${command.commands
          .map((c) => c.name())
          .filter((n) => n !== 'help')
          .join(', ')})`
      : e.message.replace(/^error: /, '');
  io.stderr(`${oneLine(what, `run '${path} --help' for usage`)}\n`);
  return EXIT.USAGE;
}

/** commandPath is the command's full name, e.g. `omnirelay mesh leaders status`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
