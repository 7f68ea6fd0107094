import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import type { ApplyResult } from '@omnirelay/leadership-fsm';
import type { RaftNode } from '@omnirelay/raft';
import type { Logger } from 'pino';
import { ServerError } from '../errors/error-table';
import type { MetricsSource } from './http-server';
import { readiness, send, sendError, sendMetrics } from './http-server';

/** MetricsServerOptions configure startMetricsServer. */
export interface MetricsServerOptions {
  readonly address: string;
  readonly node: RaftNode<ApplyResult>;
  readonly metrics: MetricsSource;
  readonly logger: Logger;
}

/** MetricsServer is the running health and metrics listener. */
export interface MetricsServer {
  readonly address: string;
  close(): Promise<void>;
}

/**
 * startMetricsServer serves GET /healthz, GET /readyz and GET /metrics, and nothing else, in
 * plaintext HTTP on `address` (--metrics-address, etcd's --listen-metrics-urls): a kubelet probe
 * or a Prometheus scrape needs no client certificate or token there, while the client ports keep
 * requiring them. It answers no control call and shows no lease, so it may listen beyond loopback
 * without TLS.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    void (async () => {
      try {
        if (req.method !== 'GET') {
          throw new ServerError('INVALID_ARGUMENT', `${req.method ?? ''} is not allowed on ${path}; use GET`);
        }
        if (path === '/healthz') return send(res, 200, { ok: true });
        if (path === '/readyz') return send(res, 200, readiness(options.node));
        if (path === '/metrics') return await sendMetrics(res, options.metrics);
        throw new ServerError(
          'NOT_FOUND',
          `no route GET ${path} on the metrics port; it serves /healthz, /readyz and /metrics (the API is on the client port)`,
        );
      } catch (e) {
        sendError(res, e, options.logger, path);
      }
    })();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const i = options.address.lastIndexOf(':');
  const host = options.address.slice(0, i);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: Error) =>
      reject(new Error(`cannot listen for metrics on ${options.address}: ${e.message}; is the port free?`)),
    );
    server.listen(Number(options.address.slice(i + 1)), host, () => resolve());
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound !== null ? `${host}:${bound.port}` : options.address;
  options.logger.info({ address }, 'health and metrics listening (plaintext: /healthz, /readyz, /metrics)');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
