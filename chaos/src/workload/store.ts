/**
 * The chaos workload's fenced store: an HTTP service in front of one log file (chaos/README.md,
 * "Workload").
 *
 *   node -r @swc-node/register chaos/src/workload/store.ts --out store-1.jsonl [--port 0]
 *     [--host 127.0.0.1] [--broken skip-fence]
 *
 * It prints `{"listening":<port>}` once ready. POST /write {"scope","fence","writer"} → 200
 * accepted, 409 STALE_FENCE, 400 INVALID_ARGUMENT; every decision is appended to `--out` with a
 * synchronous write before the answer, so a killed worker (or store) never loses a decision it
 * was told of. SIGTERM or SIGINT: stop listening, close the file, exit 0. Exit 2: bad arguments.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EXIT_BAD_ARGUMENTS, argsOrExit } from './command-line';
import { FencedStore, STORE_BODY_BYTES_MAX } from './fenced-store';
import { parseStoreArgs } from './store-args';

const options = argsOrExit('store', parseStoreArgs(process.argv.slice(2)));
const store = new FencedStore(options.broken === 'skip-fence' ? 'skip-fence' : 'fenced');
const fd = openSync(options.out, 'a');

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url !== '/write') {
    reply(res, 404, { error: { code: 'NOT_FOUND', message: 'POST /write is the only route' } });
    return;
  }
  if (req.method !== 'POST') {
    reply(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'POST /write' } });
    return;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= STORE_BODY_BYTES_MAX) chunks.push(chunk);
  });
  req.on('end', () => {
    if (bytes > STORE_BODY_BYTES_MAX) {
      reply(res, 413, {
        error: { code: 'PAYLOAD_TOO_LARGE', message: `a write is at most ${STORE_BODY_BYTES_MAX} bytes` },
      });
      return;
    }
    const decision = store.decide(Buffer.concat(chunks).toString('utf8'), process.hrtime.bigint());
    // Logged before answering: a write the writer heard of is always in the log.
    if (decision.logLine !== undefined) writeSync(fd, decision.logLine);
    reply(res, decision.status, decision.body);
  });
}

const server = createServer(handle);
server.on('error', (e) => {
  process.stderr.write(`store: ${e.message}\n`);
  process.exit(EXIT_BAD_ARGUMENTS);
});
server.listen(options.port, options.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    closeSync(fd);
    process.exit(0);
  });
}
