#!/usr/bin/env node
/**
 * `npm start`: a local cluster on 127.0.0.1 (3 nodes by default; OMNIRELAY_NODES=1..7), data
 * under ./data/, logs under ./data/logs/. Prints each node's addresses and who leads, and stops
 * every node cleanly on Ctrl-C. Ports: peers on OMNIRELAY_BASE_PORT+i, HTTP clients on
 * OMNIRELAY_BASE_PORT+100+i, gRPC clients on OMNIRELAY_BASE_PORT+200+i (default base 7100).
 */
import { resolve } from 'node:path';
import { LocalCluster } from './local-cluster';

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(
      `npm start: ${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}\n`,
    );
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const size = intFromEnv('OMNIRELAY_NODES', 3, 1, 7);
  const basePort = intFromEnv('OMNIRELAY_BASE_PORT', 7100, 1024, 65_000);
  const dataRoot = resolve(process.env['OMNIRELAY_DATA'] ?? 'data');
  let stopping = false;
  const cluster = await LocalCluster.create({
    size,
    dataRoot,
    basePort,
    onExit: (id, code, signal) => {
      if (stopping) return;
      process.stdout.write(
        `! ${id} exited (${signal ?? `code ${String(code)}`}); see ${dataRoot}/logs/${id}.log. ` +
          `The others keep running; Ctrl-C stops them.\n`,
      );
    },
  });
  process.stdout.write(`OmniRelay local cluster: ${size} node(s), data under ${dataRoot}\n`);
  process.stdout.write(
    'plaintext on 127.0.0.1, for development only; a node takes TLS with --peer-tls-* and --client-tls-* (README, "Running a node")\n\n',
  );
  process.stdout.write('  node  peer (gRPC)          client HTTP         client gRPC         log\n');
  for (const n of cluster.nodes) {
    process.stdout.write(
      `  ${n.id.padEnd(4)}  ${n.peerAddress.padEnd(18)}  ${n.clientAddress.padEnd(18)}  ${n.grpcAddress.padEnd(18)}  ${n.logFile}\n`,
    );
  }
  process.stdout.write(
    `\n  status:  curl http://${cluster.nodes[0]!.clientAddress}/status\n` +
      `  leaders: curl http://${cluster.nodes[0]!.clientAddress}/control/leaders\n` +
      `  acquire: curl -X POST http://${cluster.nodes[0]!.clientAddress}/leadership/acquire -d '{"scope":"global-control","candidateId":"me","leaseTtlMs":10000}'\n` +
      `  cli:     npx omnirelay --endpoints ${cluster.nodes.map((n) => n.grpcAddress).join(',')} mesh leaders status --watch\n\n`,
  );
  cluster.startAll();

  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping every node (SIGTERM, by PID)...\n');
    await cluster.stopAll();
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());

  let lastLeader = '';
  const started = Date.now();
  let warned = false;
  const poll = async (): Promise<void> => {
    if (stopping) return;
    const leader = (await cluster.leader()) ?? '';
    if (leader !== lastLeader) {
      const term = leader === '' ? undefined : (await cluster.status(leader))?.term;
      process.stdout.write(
        leader === '' ? 'no leader right now\n' : `leader: ${leader} (term ${String(term)})\n`,
      );
      lastLeader = leader;
    } else if (leader === '' && !warned && Date.now() - started > 10_000) {
      warned = true;
      process.stdout.write(`still no leader after 10 s; check the logs in ${dataRoot}/logs/\n`);
    }
    setTimeout(() => void poll(), 500);
  };
  setTimeout(() => void poll(), 300);
}

main().catch((e: unknown) => {
  process.stderr.write(`npm start failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
