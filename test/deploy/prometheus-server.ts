import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@omnirelay/server';
import { requireTool } from './prometheus-tools';

/** PROMETHEUS_READY_MS bounds how long a started Prometheus may take to answer /-/ready. */
const PROMETHEUS_READY_MS = 30_000;

/** PROMETHEUS_STOP_GRACE_MS is how long Prometheus may take to stop on SIGTERM before SIGKILL. */
const PROMETHEUS_STOP_GRACE_MS = 10_000;

/** POLL_MS is the pause between two polls of a Prometheus API. */
const POLL_MS = 250;

/** PrometheusOptions configures a Prometheus server started by a test. */
export interface PrometheusOptions {
  /** folder holds the configuration, the TSDB and the log; the caller removes it. */
  readonly folder: string;
  readonly jobName: string;
  /** targets are the `host:port` addresses scraped at /metrics. */
  readonly targets: readonly string[];
  readonly ruleFiles: readonly string[];
  /** intervalSeconds is both the scrape and the rule evaluation interval. */
  readonly intervalSeconds: number;
}

/** PromSample is one series of an instant query's answer. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** PromAlert is one alert of GET /api/v1/alerts. */
export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing';
}

/**
 * PrometheusServer is Debian's prometheus binary run by a test: its own configuration and TSDB in
 * a temporary folder, listening on a free loopback port (never the packaged service's 9090), and
 * stopped by PID.
 */
export class PrometheusServer {
  private constructor(
    private readonly child: ChildProcess,
    /** url is the base URL of its HTTP API, e.g. http://127.0.0.1:12345. */
    readonly url: string,
    private readonly logFile: string,
  ) {}

  /** start writes the configuration, starts Prometheus and waits, bounded, until it is ready. */
  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const configFile = join(options.folder, 'prometheus.yml');
    const interval = `${options.intervalSeconds}s`;
    writeFileSync(
      configFile,
      JSON.stringify({
        global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
        rule_files: options.ruleFiles,
        scrape_configs: [{ job_name: options.jobName, static_configs: [{ targets: [...options.targets] }] }],
      }),
    );
    const address = `127.0.0.1:${await freePort()}`;
    const logFile = join(options.folder, 'prometheus.log');
    const log = openSync(logFile, 'a');
    const child = spawn(
      requireTool('prometheus'),
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(options.folder, 'tsdb')}`,
        `--web.listen-address=${address}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    const server = new PrometheusServer(child, `http://${address}`, logFile);
    const deadline = Date.now() + PROMETHEUS_READY_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited at start: ${server.log()}`);
      const ready = await fetch(`${server.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`prometheus not ready within ${PROMETHEUS_READY_MS} ms: ${server.log()}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** log returns the end of Prometheus's log, for failure messages. */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-2000);
    } catch {
      return '(no log)';
    }
  }

  /** api GETs `path` of the HTTP API and returns its `data`, or throws with Prometheus's error. */
  async api<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`);
    const body = (await res.json()) as { status: string; data?: T; error?: string };
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(`prometheus ${path}: ${res.status} ${body.error ?? JSON.stringify(body)}`);
    }
    return body.data;
  }

  /** query runs an instant PromQL query and returns its series. */
  async query(expr: string): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: PromSample[] | [number, string] }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    );
    // A scalar answer is one value, not a list of series.
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    return data.result as PromSample[];
  }

  /** alerts returns the pending and firing alerts. */
  async alerts(): Promise<PromAlert[]> {
    return (await this.api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
  }

  /**
   * waitFor polls `check` every POLL_MS until it returns a value other than undefined, or throws
   * after `timeoutMs` saying what it waited for and the last answer.
   */
  async waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = await check();
        if (value !== undefined) return value;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${String(last)})`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** stop sends SIGTERM to Prometheus by PID, SIGKILL after PROMETHEUS_STOP_GRACE_MS, and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, PROMETHEUS_STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}
