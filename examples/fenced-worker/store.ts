/**
 * A small fenced file store: an HTTP service that appends lines to one file per scope and lets a
 * write through only if its fence token is not lower than the highest it has seen for that scope
 * (FenceGuard). The highest fences are persisted in fences.json before a write is admitted, so a
 * restarted store still shuts out old leaders.
 *
 *   node -r @swc-node/register examples/fenced-worker/store.ts --dir /tmp/orders --port 7400
 *
 * POST /append {"scope","fence","line"} → 200 {"ok":true} | 409 {"error":{"code":"STALE_FENCE",...}}
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FenceGuard, isOmniRelayError } from '@omnirelay/client-sdk';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, port: { type: 'string', default: '7400' } },
});
if (values.dir === undefined) {
  process.stderr.write('store: --dir is required (the folder for data and fences.json)\n');
  process.exit(2);
}
const dir = values.dir;
mkdirSync(dir, { recursive: true });
const fencesFile = join(dir, 'fences.json');

/** load reads the persisted highest fences (decimal strings) back into bigints. */
function load(): Record<string, bigint> {
  if (!existsSync(fencesFile)) return {};
  const raw = JSON.parse(readFileSync(fencesFile, 'utf8')) as Record<string, string>;
  return Object.fromEntries(Object.entries(raw).map(([scope, fence]) => [scope, BigInt(fence)]));
}

const highest = load();
const guard = new FenceGuard({
  initial: highest,
  // Persist before admitting: write a temp file and rename it, so a crash never leaves half a file.
  persist: (scope, fence) => {
    highest[scope] = fence;
    const text = JSON.stringify(
      Object.fromEntries(Object.entries(highest).map(([s, f]) => [s, f.toString()])),
    );
    writeFileSync(`${fencesFile}.tmp`, text);
    renameSync(`${fencesFile}.tmp`, fencesFile);
  },
});

const server = createServer((req, res) => {
  const reply = (status: number, body: object): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  if (req.method !== 'POST' || req.url !== '/append') {
    reply(404, { error: { code: 'NOT_FOUND', message: 'POST /append is the only route' } });
    return;
  }
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    let write: { scope: string; fence: bigint; line: string };
    try {
      const w = JSON.parse(body) as { scope?: unknown; fence?: unknown; line?: unknown };
      if (typeof w.scope !== 'string' || !/^[a-z0-9/_-]+$/.test(w.scope)) throw new Error('scope');
      if (typeof w.fence !== 'string' || !/^\d+$/.test(w.fence)) throw new Error('fence');
      if (typeof w.line !== 'string' || w.line.includes('\n')) throw new Error('line');
      write = { scope: w.scope, fence: BigInt(w.fence), line: w.line };
    } catch (e) {
      reply(400, {
        error: {
          code: 'INVALID_ARGUMENT',
          message: `bad ${(e as Error).message}: send {"scope","fence","line"}`,
        },
      });
      return;
    }
    try {
      guard.admit(write.scope, write.fence);
    } catch (e) {
      if (!isOmniRelayError(e, 'STALE_FENCE')) throw e;
      process.stdout.write(`rejected ${write.scope} fence ${write.fence}: ${e.message}\n`);
      reply(409, { error: { code: e.code, message: e.message } });
      return;
    }
    appendFileSync(join(dir, `${write.scope.replaceAll('/', '_')}.log`), `${write.fence} ${write.line}\n`);
    reply(200, { ok: true });
  });
});
server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`fenced store on http://127.0.0.1:${values.port}/append, data in ${dir}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => server.close(() => process.exit(0)));
