/**
 * A stand-in for chaos/src/workload/store.ts (task h17b) with the same interface, so the runner
 * can be tested before the real workload lands: a fenced store that accepts a write when its
 * fence is not below the highest accepted for the scope and logs every decision.
 *
 *   node -r @swc-node/register chaos/test/helpers/stand-in-store.ts --out store-1.jsonl [--port 0] [--broken skip-fence]
 *
 * Prints {"listening":<port>} once ready. POST /write {scope,fence,writer} → 200 / 409.
 */
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { out: { type: 'string' }, port: { type: 'string', default: '0' }, broken: { type: 'string' } },
});
const out = values.out;
if (out === undefined) {
  process.stderr.write('store: --out is required\n');
  process.exit(2);
}
const skipFence = values.broken === 'skip-fence';
const highest = new Map<string, bigint>();

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    let write: { scope: string; fence: string; writer: string };
    try {
      write = JSON.parse(body) as typeof write;
      if (req.url !== '/write' || typeof write.scope !== 'string' || typeof write.writer !== 'string')
        throw new Error();
      BigInt(write.fence);
    } catch {
      res
        .writeHead(400)
        .end('{"error":{"code":"INVALID_ARGUMENT","message":"POST /write {scope,fence,writer}"}}');
      return;
    }
    const fence = BigInt(write.fence);
    const top = highest.get(write.scope) ?? -1n;
    const accepted = skipFence || fence >= top;
    if (accepted && fence > top) highest.set(write.scope, fence);
    const record = {
      scope: write.scope,
      fence: write.fence,
      writer: write.writer,
      outcome: accepted ? 'accepted' : 'rejected',
      time: process.hrtime.bigint().toString(),
    };
    appendFileSync(out, `${JSON.stringify(record)}\n`);
    res.writeHead(accepted ? 200 : 409).end(accepted ? '{"ok":true}' : '{"error":{"code":"STALE_FENCE"}}');
  });
});
server.listen({ host: '127.0.0.1', port: Number(values.port) }, () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ listening: typeof address === 'object' && address !== null ? address.port : 0 })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
