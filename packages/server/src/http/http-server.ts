import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';
import type { KvResult, KvStateMachine } from '../kv/kv-state-machine';
import { KvStateMachine as Kv } from '../kv/kv-state-machine';
import { ERROR_TABLE, ServerError, toServerError } from '../errors/error-table';

/** HttpServerOptions configures startHttpServer. */
export interface HttpServerOptions {
  readonly address: string;
  readonly node: RaftNode<KvResult>;
  readonly kv: KvStateMachine;
  readonly clientAddress: string;
  readonly bodyBytesMax: number;
  readonly version: string;
  readonly logger: Logger;
}

/** ClientHttpServer is the running HTTP listener on the client port. */
export interface ClientHttpServer {
  readonly address: string;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, body: unknown) => Promise<unknown>;

/**
 * startHttpServer serves the client port over HTTP/1.1 with JSON bodies: `GET /status`,
 * `GET /healthz`, `GET /readyz`, and the issue-4 key-value endpoints `POST /debug/kv` (a
 * replicated write through Raft) and `GET /debug/kv/digest` (what this replica applied). Every
 * error is `{"error":{"code","message",...}}` with the status from the error table.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<ClientHttpServer> {
  const { node, kv } = options;
  const routes = new Map<string, Handler>([
    ['GET /status', () => Promise.resolve(statusBody(options))],
    ['GET /healthz', () => Promise.resolve({ ok: true })],
    [
      'GET /readyz',
      () => {
        const s = node.status();
        if (s.leader === '') throw new ServerError('NO_QUORUM', 'not ready: no leader is known yet');
        if (s.applied < s.commit) {
          throw new ServerError(
            'NO_QUORUM',
            `not ready: applied ${s.applied} of ${s.commit} committed entries`,
          );
        }
        return Promise.resolve({ ready: true, leader: s.leader, term: s.term });
      },
    ],
    ['GET /debug/kv/digest', () => Promise.resolve(kv.summary())],
    [
      'POST /debug/kv',
      async (_req, body) => {
        const { key, value } = (body ?? {}) as { key?: unknown; value?: unknown };
        if (typeof key !== 'string' || key.length === 0 || key.length > 256 || typeof value !== 'string') {
          throw new ServerError(
            'INVALID_ARGUMENT',
            'body must be {"key": "<1-256 chars>", "value": "<string>"}',
          );
        }
        const result = await node.propose(Kv.encode(key, value));
        return { ...result, leader: node.id };
      },
    ],
  ]);

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes.get(`${req.method ?? 'GET'} ${path}`);
    try {
      if (route === undefined) {
        const known = [...routes.keys()].filter((k) => k.endsWith(` ${path}`));
        if (known.length > 0) {
          throw new ServerError(
            'INVALID_ARGUMENT',
            `${req.method ?? ''} is not allowed on ${path}; use ${known.join(' or ')}`,
          );
        }
        throw new ServerError(
          'NOT_FOUND',
          `no route ${req.method ?? ''} ${path}; see the README for the HTTP API`,
        );
      }
      const body = req.method === 'POST' ? await readJson(req, options.bodyBytesMax) : undefined;
      send(res, 200, await route(req, body));
    } catch (e) {
      const error = toServerError(e);
      if (error.code === 'INTERNAL') options.logger.error({ err: e, path }, 'request failed; this is a bug');
      send(res, ERROR_TABLE[error.code].httpStatus, {
        error: { code: error.code, message: error.message, ...error.details },
      });
    }
  }

  const [host, portText] = splitHostPort(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new Error(`cannot listen for clients on ${options.address}: ${e.message}; is the port free?`)),
    );
    server.listen(Number(portText), host, () => resolve());
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound !== null ? `${host}:${bound.port}` : options.address;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function statusBody(options: HttpServerOptions): unknown {
  const s = options.node.status();
  return {
    id: s.id,
    version: options.version,
    role: s.role,
    term: s.term,
    leader: s.leader,
    commit: s.commit,
    applied: s.applied,
    firstIndex: s.firstIndex,
    lastIndex: s.lastIndex,
    snapshotIndex: s.snapshotIndex,
    membership: s.membership,
    peers: Object.fromEntries(
      Object.entries(s.peers).map(([id, p]) => [id, { ...p, ...(s.progress[id] ?? {}) }]),
    ),
    transport: s.transport,
    proposalsPending: s.proposalsPending,
    clientAddress: options.clientAddress,
    peerAddress: s.peerAddress,
    fatalError: s.fatalError ?? null,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, bytesMax: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.byteLength;
    if (bytes > bytesMax)
      throw new ServerError('PAYLOAD_TOO_LARGE', `request body exceeds ${bytesMax} bytes`);
    chunks.push(chunk);
  }
  if (bytes === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ServerError('INVALID_ARGUMENT', 'request body is not valid JSON');
  }
}

function splitHostPort(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), address.slice(i + 1)];
}
