import type { Socket } from 'node:net';
import { connect, createServer } from 'node:net';

/** TcpProxy forwards 127.0.0.1 connections to a target until it is cut. */
export interface TcpProxy {
  /** address is the proxy's `127.0.0.1:port`. */
  readonly address: string;
  /**
   * cut black-holes the link: bytes in either direction are dropped and new connections are
   * accepted but never forwarded, as when a network path silently fails (no resets, so the
   * client learns nothing until its own timers fire).
   */
  cut(): void;
  /**
   * muteReplies forwards what clients send but drops every byte the target sends back, on open
   * and new connections: the target serves each request and the client never hears of it (an
   * answer lost on its way back, or a path that died after the request crossed it).
   */
  muteReplies(): void;
  /** hold stops forwarding in both directions (bytes wait in the sockets) until release(). */
  hold(): void;
  /** release forwards everything held, in order, and goes on forwarding. */
  release(): void;
  /**
   * reset resets every proxied connection once, on both sides (TCP RST), as when a middlebox
   * drops its flows: each end learns at once. New connections are forwarded as usual, unless
   * `refuseNew`: then each is reset as it arrives until admit().
   */
  reset(options?: { refuseNew?: boolean }): void;
  /** admit forwards new connections again after reset({ refuseNew: true }). */
  admit(): void;
  /**
   * resetServerSide resets every proxied connection on the target's side only and black-holes
   * the client's side (as cut does), so the target sees a reset at once while the client learns
   * nothing until its own timers fire.
   */
  resetServerSide(): void;
  close(): Promise<void>;
}

/** startTcpProxy starts a proxy to `target` (host:port) on a free loopback port. */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ];
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;
  let refusing = false;
  let muted = false;
  const mute = (upstream: Socket, client: Socket): void => {
    upstream.unpipe(client);
    upstream.on('data', () => undefined);
  };
  const blackhole = (s: Socket): void => {
    s.unpipe();
    s.removeAllListeners('data');
    s.on('data', () => undefined);
    s.resume();
  };
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (cut) {
      blackhole(client);
      return;
    }
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(port, host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (!cut) client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => {
      if (!cut) upstream.destroy();
    });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    client.pipe(upstream);
    if (muted) mute(upstream, client);
    else upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  return {
    address: `127.0.0.1:${address.port}`,
    cut: () => {
      cut = true;
      for (const s of sockets) blackhole(s);
    },
    muteReplies: () => {
      muted = true;
      for (const [client, upstream] of pairs) mute(upstream, client);
    },
    hold: () => {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    release: () => {
      for (const [client, upstream] of pairs) {
        client.pipe(upstream);
        upstream.pipe(client);
      }
    },
    reset: (options = {}) => {
      refusing = options.refuseNew === true;
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
    },
    admit: () => {
      refusing = false;
    },
    resetServerSide: () => {
      cut = true;
      for (const s of sockets) blackhole(s);
      for (const [, upstream] of pairs) upstream.resetAndDestroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
