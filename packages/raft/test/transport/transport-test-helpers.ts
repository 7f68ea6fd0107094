import { createServer } from 'node:net';
import type { TransportLogger } from '../../src/index';

/** quiet is a TransportLogger that writes nothing. */
export const quiet: TransportLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** freePort finds a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** waitFor polls `check` every 5 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
