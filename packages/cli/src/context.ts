import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OmniRelayClient, TlsOptions } from '@omnirelay/client-sdk';
import { createClient } from '@omnirelay/client-sdk';
import type { OutputFormat } from './options';
import {
  TIMEOUT_MS_DEFAULT,
  parseOutput,
  parseTimeoutMs,
  resolveEndpoints,
  resolveTls,
  resolveToken,
} from './options';

/**
 * CliIo is everything the program touches outside itself, so tests can run it in-process:
 * where output goes, the environment, the clock, and the operator's request to stop.
 */
export interface CliIo {
  /** stdout receives results (tables, JSON), in whole lines. */
  readonly stdout: (text: string) => void;
  /** stderr receives the one-line errors and notices, and nothing else. */
  readonly stderr: (text: string) => void;
  /** env is the environment (OMNIRELAY_ENDPOINTS). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** now is the wall clock in ms since the epoch; tables show durations relative to it. */
  readonly now: () => number;
  /**
   * onStop registers `handler` for the operator's request to stop a long-running command
   * (`main` wires SIGINT and SIGTERM to it) and returns the function that unregisters it.
   */
  readonly onStop: (handler: () => void) => () => void;
}

/** GlobalOptions are the raw values of the options every command takes. */
export interface GlobalOptions {
  readonly endpoints?: string;
  readonly timeout?: string;
  readonly output?: string;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly token?: string;
  readonly tokenFile?: string;
}

/**
 * CommandContext is one command's view of the run: its validated global options and a client
 * of the cluster. Validation happens at construction, so a bad --endpoints, --timeout, -o, an
 * unreadable --cacert, --cert, --key or --token-file, or a malformed token fails with exit 2
 * before anything is sent.
 */
export class CommandContext {
  /** output is the validated -o/--output. */
  readonly output: OutputFormat;
  /** endpoints are the validated endpoints, in the order given. */
  readonly endpoints: readonly string[];
  /** timeoutMs bounds every call, retries included. */
  readonly timeoutMs: number;
  /** tls is what --cacert, --cert and --key (or OMNIRELAY_CACERT/CERT/KEY) read; undefined for plaintext. */
  readonly tls: TlsOptions | undefined;
  /** token is the bearer token from --token or --token-file (or their OMNIRELAY_* variables); never printed. */
  private readonly token: string | undefined;

  constructor(
    readonly io: CliIo,
    options: GlobalOptions,
  ) {
    this.output = parseOutput(options.output ?? 'table');
    this.endpoints = resolveEndpoints(options.endpoints, io.env);
    this.timeoutMs = options.timeout === undefined ? TIMEOUT_MS_DEFAULT : parseTimeoutMs(options.timeout);
    this.tls = resolveTls(options, io.env);
    this.token = resolveToken(options, io.env);
  }

  /**
   * getJson sends `GET path` to the client HTTP port at `address` (https with the TLS files when
   * --cacert is given), with the bearer token when there is one, and resolves to the status and
   * the parsed JSON body. A connection failure or no answer within timeoutMs rejects.
   */
  getJson(address: string, path: string): Promise<{ status: number; body: unknown }> {
    const tls = this.tls;
    const headers = this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
    return new Promise((done, fail) => {
      const options = { method: 'GET', headers, timeout: this.timeoutMs };
      const url = `${tls === undefined ? 'http' : 'https'}://${address}${path}`;
      const onResponse = (res: IncomingMessage): void => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('error', fail);
        res.on('end', () => {
          try {
            done({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
          } catch {
            fail(new Error(`${address} answered ${res.statusCode ?? 0} with a body that is not JSON`));
          }
        });
      };
      const req =
        tls === undefined
          ? httpRequest(url, options, onResponse)
          : httpsRequest(url, { ...options, ca: tls.ca, cert: tls.cert, key: tls.key }, onResponse);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', fail);
      req.end();
    });
  }

  /**
   * withClient runs `use` with a client of the cluster and closes the client afterwards, however
   * `use` ends. `endpoints` overrides the order in which the client tries the endpoints.
   */
  async withClient<T>(
    use: (client: OmniRelayClient) => Promise<T>,
    endpoints: readonly string[] = this.endpoints,
  ): Promise<T> {
    const client = createClient({
      endpoints,
      callTimeoutMs: this.timeoutMs,
      ...(this.tls === undefined ? {} : { tls: this.tls }),
      ...(this.token === undefined ? {} : { token: this.token }),
    });
    try {
      return await use(client);
    } finally {
      client.close();
    }
  }
}
