import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { SERVER_NODE_FLAGS } from '@omnirelay/server';
import type { RenderedContainer, RenderedStatefulSet } from './chart-invariants';

/** IMAGE_SERVER_MAIN is the server's compiled main in the image (the Dockerfile's layout). */
export const IMAGE_SERVER_MAIN = '/app/packages/server/dist/main.js';

/** IMAGE_ENTRY is the process the image runs, with the server's Node.js flags: the container's args. */
export const IMAGE_ENTRY: readonly string[] = ['node', ...SERVER_NODE_FLAGS, IMAGE_SERVER_MAIN];

/** SOURCE_ENTRY runs the same server from source, as every multi-process test here does. */
const SOURCE_ENTRY = [
  process.execPath,
  ...SERVER_NODE_FLAGS,
  '-r',
  '@swc-node/register',
  resolve(__dirname, '../../../packages/server/src/main.ts'),
];

/** LoopbackPorts are one member's ports on 127.0.0.1, by container port name. */
export type LoopbackPorts = Readonly<Record<string, number>>;

/**
 * PodPlan says how the rendered pod spec maps onto this machine: each member's loopback ports,
 * and a local folder for each volume mount.
 */
export interface PodPlan {
  readonly namespace: string;
  readonly ports: ReadonlyMap<string, LoopbackPorts>;
  /** mountDir gives the local folder standing in for volume `name` in pod `pod`. */
  readonly mountDir: (pod: string, volume: string) => string;
}

/** PodProcess is one member started from the rendered spec. */
export interface PodProcess {
  readonly pod: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly ports: LoopbackPorts;
}

/**
 * expandKubernetesReferences replaces `$(NAME)` with the value of a variable defined earlier in
 * the container's env, as the kubelet does; `$$` stands for `$`, an unknown name stays as is.
 */
export function expandKubernetesReferences(value: string, defined: ReadonlyMap<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return defined.get(name) ?? match;
  });
}

/**
 * EnvPlan says how a rendered container's environment maps onto this machine: the loopback
 * stand-in of each rendered `host:port` and `0.0.0.0:port`, and a local folder per volume.
 */
export interface EnvPlan {
  /** address returns the stand-in of `host:port` (host `0.0.0.0` for a listen address). */
  readonly address: (host: string, port: number) => string;
  /** mountDir is the local folder standing in for volume `volume`. */
  readonly mountDir: (volume: string) => string;
  /** podName is what `fieldRef: metadata.name` gives. */
  readonly podName: string;
}

/**
 * containerEnvironment is the environment the kubelet gives `container`, with every host:port
 * replaced by its stand-in and every mount path by its local folder, `$(VAR)` expanded. It throws
 * when a value still names the cluster's DNS or a container path.
 */
export function containerEnvironment(container: RenderedContainer, plan: EnvPlan): Map<string, string> {
  const env = new Map<string, string>();
  for (const variable of container.env ?? []) {
    let value: string;
    if (variable.value !== undefined) value = variable.value;
    else if (JSON.stringify(variable.valueFrom) === '{"fieldRef":{"fieldPath":"metadata.name"}}')
      value = plan.podName;
    else throw new Error(`${variable.name}: no stand-in for ${JSON.stringify(variable.valueFrom)}`);
    value = value.replace(
      /(0\.0\.0\.0|[a-z0-9-]+(?:\.[a-z0-9-]+)+):(\d+)/g,
      (_match, host: string, port: string) => plan.address(host, Number(port)),
    );
    value = localPath(container, value, plan.mountDir);
    value = expandKubernetesReferences(value, env);
    if (/svc\.cluster\.local|^\/etc\/omnirelay|^\/var\/lib\/omnirelay|0\.0\.0\.0/.test(value)) {
      throw new Error(`${variable.name}=${value} still names something of the cluster`);
    }
    env.set(variable.name, value);
  }
  return env;
}

/**
 * podEnvironment is the environment of member `pod`'s container: each member's pod DNS name
 * becomes its loopback port, the listen addresses this pod's own ports.
 */
export function podEnvironment(sts: RenderedStatefulSet, pod: string, plan: PodPlan): Map<string, string> {
  const own = plan.ports.get(pod);
  if (own === undefined) throw new Error(`no ports planned for ${pod}`);
  return containerEnvironment(sts.spec.template.spec.containers[0]!, {
    podName: pod,
    mountDir: (volume) => plan.mountDir(pod, volume),
    address: (host, port) => memberAddress(sts, plan, host === '0.0.0.0' ? pod : host, port),
  });
}

/**
 * memberAddress is the loopback stand-in of member `host` (its pod DNS name under the peer
 * Service, or its bare pod name) on container port `port`, or throws when it is no member's port.
 */
export function memberAddress(sts: RenderedStatefulSet, plan: PodPlan, host: string, port: number): string {
  const container = sts.spec.template.spec.containers[0]!;
  const name = container.ports?.find((p) => p.containerPort === port)?.name ?? '';
  const domain = `.${sts.spec.serviceName}.${plan.namespace}.svc.cluster.local`;
  const member = host.endsWith(domain) ? host.slice(0, -domain.length) : host;
  const loopback = plan.ports.get(member)?.[name];
  if (loopback === undefined) throw new Error(`${host}:${port} is no member's port`);
  return `127.0.0.1:${loopback}`;
}

/**
 * startPod runs `pod` as the kubelet would: the container's command (the chart's shell
 * entrypoint) with its environment, and the image's entry (the args) replaced by the server from
 * source. Its output goes to `logDir/<pod>.log`.
 */
export function startPod(sts: RenderedStatefulSet, pod: string, plan: PodPlan, logDir: string): PodProcess {
  const container: RenderedContainer = sts.spec.template.spec.containers[0]!;
  if (JSON.stringify(container.args) !== JSON.stringify(IMAGE_ENTRY)) {
    throw new Error(`the container's args are ${JSON.stringify(container.args)}, not the image entry`);
  }
  const [command, ...commandArgs] = container.command ?? [];
  if (command === undefined) throw new Error('the container has no command');
  for (const volume of container.volumeMounts ?? [])
    mkdirSync(plan.mountDir(pod, volume.name), { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${pod}.log`);
  const log = openSync(logFile, 'a');
  const child = spawn(command, [...commandArgs, ...SOURCE_ENTRY], {
    stdio: ['ignore', log, log],
    cwd: resolve(__dirname, '../../..'),
    env: {
      PATH: process.env['PATH'] ?? '',
      SWC_NODE_PROJECT: process.env['SWC_NODE_PROJECT'] ?? resolve(__dirname, '../../../tsconfig.check.json'),
      ...Object.fromEntries(podEnvironment(sts, pod, plan)),
    },
  });
  closeSync(log);
  return { pod, child, logFile, ports: plan.ports.get(pod)! };
}

/** HttpsAnswer is a status code and body. */
export interface HttpsAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * httpsCall sends `method path` (JSON `body` when given) to 127.0.0.1:`port` over TLS, trusting
 * `ca` and naming localhost, with a bearer `token` when given.
 */
export function httpsCall(
  port: number,
  method: string,
  path: string,
  ca: Buffer,
  token?: string,
  body?: unknown,
): Promise<HttpsAnswer> {
  return new Promise((resolveCall, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        servername: 'localhost',
        // No keep-alive: a pooled socket would outlive the test.
        agent: false,
        timeout: 15_000,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolveCall({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} on ${port} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * httpGet asks 127.0.0.1:`port` for `path` in plaintext, or with `kubeletTls` over TLS as the
 * kubelet probes: no client certificate, the server's certificate not verified.
 */
export function httpGet(port: number, path: string, kubeletTls = false): Promise<HttpsAnswer> {
  return new Promise((resolveGet, reject) => {
    const options = { host: '127.0.0.1', port, path, agent: false as const, timeout: 15_000 };
    const send = kubeletTls
      ? (cb: (res: IncomingMessage) => void): ClientRequest =>
          request({ ...options, rejectUnauthorized: false }, cb)
      : (cb: (res: IncomingMessage) => void): ClientRequest => httpRequest(options, cb);
    const req = send((res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** httpsGet is httpsCall for a GET. */
export function httpsGet(port: number, path: string, ca: Buffer, token?: string): Promise<HttpsAnswer> {
  return httpsCall(port, 'GET', path, ca, token);
}

/** localPath maps a container path under one of `container`'s mounts to its local folder. */
export function localPath(
  container: RenderedContainer,
  path: string,
  mountDir: (volume: string) => string,
): string {
  for (const mount of container.volumeMounts ?? []) {
    if (path === mount.mountPath || path.startsWith(`${mount.mountPath}/`)) {
      return mountDir(mount.name) + path.slice(mount.mountPath.length);
    }
  }
  return path;
}
