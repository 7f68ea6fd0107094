/**
 * The link-proxy process: one per node (inside the node's namespace when there are namespaces),
 * holding a LinkProxy for each of the node's outgoing peer links and, optionally, unix-socket
 * forwarders that let the harness reach addresses that exist only inside the namespace.
 *
 *   node -r @swc-node/register chaos/src/harness/proxy-main.ts <config.json>
 *
 * config: {"seed":N,"links":[{"name","listen":{"host","port"},"target":{"host","port"}}],
 *          "unix":[{"name","path","target":{"host","port"}}]}
 * It prints {"ready":true,"ports":{name:port}} once listening, then reads commands on stdin, one
 * JSON object a line: {"link":name,"set":{...LinkFaults}} or {"link":name,"reset":true}; each is
 * answered {"ok":true} or {"error":message}. It stops on SIGTERM or when stdin closes.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LinkFaults } from './proxy';
import { LinkProxy } from './proxy';

interface Endpoint {
  readonly host: string;
  readonly port: number;
}
interface ProxyConfig {
  readonly seed: number;
  readonly links: ReadonlyArray<{
    readonly name: string;
    readonly listen: Endpoint;
    readonly target: Endpoint;
  }>;
  readonly unix?: ReadonlyArray<{ readonly name: string; readonly path: string; readonly target: Endpoint }>;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: proxy-main.ts <config.json>');
  const config = JSON.parse(readFileSync(file, 'utf8')) as ProxyConfig;
  const proxies = new Map<string, LinkProxy>();
  const ports: Record<string, number> = {};
  let seed = config.seed;
  for (const link of config.links) {
    const proxy = new LinkProxy(link.name, link.target, seed++);
    ports[link.name] = await proxy.start(link.listen.host, link.listen.port);
    proxies.set(link.name, proxy);
  }
  for (const u of config.unix ?? []) {
    rmSync(u.path, { force: true });
    const proxy = new LinkProxy(u.name, u.target, seed++);
    await proxy.startOnPath(u.path);
    proxies.set(u.name, proxy);
  }
  const stop = (): void => {
    void Promise.all([...proxies.values()].map((p) => p.stop())).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.stdout.write(`${JSON.stringify({ ready: true, ports })}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    try {
      const command = JSON.parse(line) as { link: string; set?: Partial<LinkFaults>; reset?: boolean };
      const proxy = proxies.get(command.link);
      if (proxy === undefined) throw new Error(`no link ${command.link}`);
      if (command.set !== undefined) proxy.set(command.set);
      if (command.reset === true) proxy.resetConnections();
      process.stdout.write('{"ok":true}\n');
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
    }
  });
  lines.on('close', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`proxy: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
