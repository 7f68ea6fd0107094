#!/usr/bin/env node
/**
 * The `omnirelay` entry point: runs the program on process.argv with the real stdout, stderr,
 * environment and clock, wires SIGINT and SIGTERM to stop a running watch, and sets
 * process.exitCode. A second SIGINT/SIGTERM while a watch is stopping quits at once (exit 1).
 */
import type { CliIo } from './context';
import { EXIT } from './exit-codes';
import { runCli } from './program';

/** EXIT_GRACE_MS: if something still holds the event loop this long after the command ended, exit anyway. */
const EXIT_GRACE_MS = 2000;

const stopSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

function processIo(): CliIo {
  let stopping = false;
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    now: () => Date.now(),
    onStop: (handler) => {
      const onSignal = (): void => {
        if (stopping) process.exit(EXIT.INTERNAL);
        stopping = true;
        handler();
      };
      for (const s of stopSignals) process.on(s, onSignal);
      return () => {
        for (const s of stopSignals) process.off(s, onSignal);
      };
    },
  };
}

/**
 * quietTlsServerNameWarning drops Node's DEP0123 ("Setting the TLS ServerName to an IP address is
 * not permitted by RFC 6066"), which grpc-js triggers for every TLS endpoint given as an IP
 * address: the certificate is still verified against that address (its IP SAN), and stderr is
 * for the CLI's one-line errors. Every other warning passes through.
 */
function quietTlsServerNameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = (warning: unknown, ...rest: unknown[]) => {
    const code =
      typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  };
}

quietTlsServerNameWarning();

// A reader that went away (`omnirelay ... | head`) is not an error of the command.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.OK);
  throw e;
});

void runCli(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
});
