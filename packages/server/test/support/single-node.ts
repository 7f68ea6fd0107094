import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { OmniRelayServer } from '../../src/index';
import { freePort, loadServerConfig, startServer } from '../../src/index';

/** SINGLE_NODE_LEAD_MS bounds how long a fresh single node may take to become leader. */
export const SINGLE_NODE_LEAD_MS = 10_000;

/** SingleNode is a one-node cluster started in-process on free loopback ports. */
export interface SingleNode {
  readonly server: OmniRelayServer;
  readonly dataDir: string;
  /** stop stops the server and removes its data folder. */
  stop(): Promise<void>;
}

/**
 * soloServerArgs are the flags of a one-node server `id` on `dataDir`: free loopback ports, silent
 * logs, and a new cluster bootstrapped from an empty folder.
 */
export async function soloServerArgs(id: string, dataDir: string): Promise<string[]> {
  return [
    '--id',
    id,
    '--peer-address',
    `127.0.0.1:${await freePort()}`,
    '--client-address',
    `127.0.0.1:${await freePort()}`,
    '--grpc-address',
    `127.0.0.1:${await freePort()}`,
    '--data-dir',
    dataDir,
    '--log-level',
    'silent',
    '--initial-cluster-state',
    'new',
  ];
}

/**
 * startSingleNode starts a one-node server (id `solo`, silent logs unless `logger` is given, a fresh temp data folder)
 * with `extraArgs` appended to its flags, and waits, bounded, until it leads and its take-office
 * grace has committed.
 */
export async function startSingleNode(
  extraArgs: readonly string[] = [],
  logger: Logger = pino({ level: 'silent' }),
): Promise<SingleNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omnirelay-solo-'));
  const config = loadServerConfig([...(await soloServerArgs('solo', dataDir)), ...extraArgs], {});
  const server = await startServer(config, logger, 'test');
  const deadline = Date.now() + SINGLE_NODE_LEAD_MS;
  while (!server.node.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  if (!server.node.isLeader) {
    await server.stop();
    throw new Error(`the single node did not become leader within ${SINGLE_NODE_LEAD_MS} ms`);
  }
  // Expiry starts only once the take-office grace has committed.
  await new Promise((r) => setTimeout(r, 100));
  return {
    server,
    dataDir,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
