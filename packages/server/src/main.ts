#!/usr/bin/env node
/**
 * The OmniRelay Control Plane server process: one Raft node plus its client port.
 * Configuration comes from defaults, `--config file.json`, OMNIRELAY_* variables and flags (see
 * `--help`). `omnirelay-server restore …` instead creates a new cluster's data folder from a backup, and
 * `omnirelay-server force-new-cluster …` turns a survivor's folder into a single-member new cluster
 * (restore/restore-command.ts). Exit codes: 0 after a clean shutdown, 1 after a fatal error, 2 for bad configuration or
 * a port in use, and one code per storage error (STORAGE_EXIT_CODES, 10-18; see the README).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { pino } from 'pino';
import { ConfigError, loadServerConfig } from './config/server-config';
import { SERVER_EXIT, exitCodeOf } from './errors/exit-codes';
import type { ServerConfig } from './config/server-config';
import { runForceNewClusterCommand, runRestoreCommand } from './restore/restore-command';
import { startServer } from './server';
import type { OmniRelayServer } from './server';

const VERSION = (JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string })
  .version;

async function main(): Promise<void> {
  const oneShot = new Map([
    ['restore', runRestoreCommand],
    ['force-new-cluster', runForceNewClusterCommand],
  ]).get(process.argv[2] ?? '');
  if (oneShot !== undefined) {
    const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);
    process.exitCode = await oneShot(process.argv.slice(3), {
      stdout: write(process.stdout),
      stderr: write(process.stderr),
    });
    return;
  }
  let config: ServerConfig;
  try {
    config = loadServerConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    if (e instanceof ConfigError) {
      process.stderr.write(`omnirelay-server: bad configuration: ${e.message}\n`);
      process.exit(SERVER_EXIT.BAD_CONFIG);
    }
    throw e;
  }
  const logger = pino({ level: config.logLevel, base: { node: config.id } });
  let server: OmniRelayServer;
  try {
    server = await startServer(config, logger, VERSION);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    logger.fatal({ err: message }, 'cannot start the node');
    process.stderr.write(`omnirelay-server: cannot start: ${message}\n`);
    process.exit(exitCodeOf(e, SERVER_EXIT.BAD_CONFIG));
  }
  logger.info(
    {
      peerAddress: server.node.peerAddress,
      clientAddress: server.http.address,
      grpcAddress: server.grpcAddress,
      dataDir: config.dataDir,
      version: VERSION,
    },
    'node started',
  );

  let stopping = false;
  const shutdown = async (signal: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing the current batch, then closing the store');
    try {
      // A planned stop (not a fatal error) hands leadership over first: no election gap for clients.
      if (code === SERVER_EXIT.OK) await server.handOff();
      await server.stop();
      logger.info('stopped');
    } catch (e) {
      // A store that failed a write may fail to close too; the exit code must still say why.
      logger.error({ err: e instanceof Error ? e.message : String(e) }, 'stopping failed');
    }
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', SERVER_EXIT.OK));
  process.on('SIGINT', () => void shutdown('SIGINT', SERVER_EXIT.OK));
  server.node.on('fatal', (e) => {
    process.stderr.write(`omnirelay-server: stopped: ${e.message}\n`);
    void shutdown('fatal error', exitCodeOf(e, SERVER_EXIT.FATAL));
  });
}

main().catch((e: unknown) => {
  process.stderr.write(
    `omnirelay-server: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(SERVER_EXIT.FATAL);
});
