import type { OmniRelayServer } from '@omnirelay/server';
import { startSingleNode } from '../../../server/test/support/single-node';
import type { ClientOptions, OmniRelayClient } from '../../src/index';
import { createClient } from '../../src/index';

/** SoloCluster is a one-node cluster started in-process, and the clients made for it. */
export interface SoloCluster {
  readonly server: OmniRelayServer;
  /** client makes a client of this node (closed by stop()). */
  client(options?: Partial<ClientOptions>): OmniRelayClient;
  stop(): Promise<void>;
}

/** startSolo starts a single node (see startSingleNode) and tracks the clients made for it. */
export async function startSolo(extraArgs: readonly string[] = []): Promise<SoloCluster> {
  const node = await startSingleNode(extraArgs);
  const clients: OmniRelayClient[] = [];
  return {
    server: node.server,
    client: (options = {}) => {
      const c = createClient({ endpoints: [node.server.grpcAddress], callTimeoutMs: 3000, ...options });
      clients.push(c);
      return c;
    },
    stop: async () => {
      for (const c of clients) c.close();
      await node.stop();
    },
  };
}

/** waitFor polls `check` every 10 ms until it is true, or throws after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** sleep waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** rejectionOf awaits `p` and returns what it rejected with (or fails if it resolved). */
export async function rejectionOf(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a rejection, but the promise resolved');
}
