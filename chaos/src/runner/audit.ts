import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { ChaosCluster } from './cluster';

/** AUDIT_READ_MS_MAX bounds how long reading the committed holder changes may take. */
export const AUDIT_READ_MS_MAX = 30_000;

/** parseSseBatches returns the `data:` payloads of the `leadership` events in an SSE text. */
export function parseSseBatches(text: string): unknown[] {
  const out: unknown[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    if (!lines.includes('event: leadership')) continue;
    const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    if (data.length > 0) out.push(JSON.parse(data.join('\n')));
  }
  return out;
}

/** auditLines flattens SSE batches {revision, events[]} into audit.jsonl lines, each event with its revision. */
export function auditLines(batches: readonly unknown[]): string[] {
  return batches.flatMap((b) => {
    const batch = b as { revision: number | string; events?: Array<{ revision?: number | string }> };
    return (batch.events ?? []).map((e) =>
      JSON.stringify({ ...e, revision: String(e.revision ?? batch.revision) }),
    );
  });
}

/**
 * auditStreamComplete says whether an SSE text read from `fromRevision=1` holds every holder
 * change up to revision `target`: it carries a message with id ≥ target, or a `: ping` comment.
 * Revisions without a holder change (renewals, no-ops) send nothing, so the node's current
 * revision may never appear as an id; but the server replays its history before anything else,
 * so its first ping (every 10 s) comes after the whole replay.
 */
export function auditStreamComplete(text: string, target: number): boolean {
  if (target === 0 || /^: ping$/m.test(text)) return true;
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  return ids.length > 0 && Math.max(...ids) >= target;
}

/**
 * readEventStream reads `GET /control/events/leadership?fromRevision=1` at `at` (a host and port,
 * or a unix socket) until auditStreamComplete says it holds revision `target`, within `timeoutMs`.
 */
export function readEventStream(
  at: { host: string; port: number } | { socketPath: string },
  target: number,
  timeoutMs: number = AUDIT_READ_MS_MAX,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`the audit stream did not reach revision ${target} within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = request(
      { ...at, method: 'GET', path: '/control/events/leadership?fromRevision=1' },
      (res) => {
        if (res.statusCode !== 200) {
          clearTimeout(timer);
          reject(new Error(`GET /control/events/leadership answered ${String(res.statusCode)}`));
          res.resume();
          return;
        }
        res.on('data', (c: Buffer) => {
          buffer += c.toString('utf8');
          if (auditStreamComplete(buffer, target)) {
            clearTimeout(timer);
            req.destroy();
            resolve(buffer);
          }
        });
      },
    );
    req.on('error', (e) => {
      if (buffer === '') {
        clearTimeout(timer);
        reject(e);
      }
    });
    req.end();
  });
}

/**
 * readAudit reads the committed holder changes from revision 1 through the node's current
 * revision (GET /control/events/leadership?fromRevision=1, Server-Sent Events) from one running
 * member, writes them to `file`, and returns how many events it read.
 */
export async function readAudit(cluster: ChaosCluster, file: string): Promise<number> {
  const leader = await cluster.waitForLeader(20_000);
  const status = await cluster.status(leader);
  const target = status?.leadership?.revision ?? 0;
  const n = cluster.topology.node(leader);
  const text = await readEventStream(
    n.httpSocket === undefined ? { host: n.client.host, port: n.client.port } : { socketPath: n.httpSocket },
    target,
  );
  const lines = auditLines(parseSseBatches(text.slice(0, text.lastIndexOf('\n\n') + 2)));
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return lines.length;
}
