/**
 * @omnirelay/cli: the `omnirelay` command. `runCli` runs it in-process with injectable I/O (the
 * tests do); `bin/omnirelay.js` runs it as a process.
 */
export { runCli, buildProgram } from './program';
export type { Outcome } from './program';
export type { CliIo, GlobalOptions } from './context';
export { EXIT, EXIT_CODE_OF, EXIT_CODES_HELP, exitCodeFor } from './exit-codes';
export type { ExitCode } from './exit-codes';
export { describeFailure } from './cli-error';
export type { Failure } from './cli-error';
