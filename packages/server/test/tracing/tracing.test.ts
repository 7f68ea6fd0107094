import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type * as TracingModule from '../../src/tracing/tracing';
import { TRACING_SERVICE_NAME, TRACING_SHUTDOWN_MS_MAX } from '../../src/tracing/tracing';

const CHILD = join(__dirname, 'otlp-export-child.ts');
const CHILD_RUN_MS_MAX = 20_000;

/** runChild runs otlp-export-child against `endpoint`, killing it by PID if it outlives CHILD_RUN_MS_MAX. */
function runChild(endpoint: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', CHILD, endpoint], {
      cwd: join(__dirname, '../../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const guard = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), CHILD_RUN_MS_MAX);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('startTracing', () => {
  jest.setTimeout(30_000);

  it('with no endpoint and no exporter returns a non-recording tracer and loads no SDK', async () => {
    // Any load of the SDK would throw here: tracing off must not even require it.
    const sdkModules = [
      '@opentelemetry/sdk-node',
      '@opentelemetry/sdk-trace-base',
      '@opentelemetry/exporter-trace-otlp-http',
    ];
    for (const name of sdkModules) {
      jest.doMock(name, () => {
        throw new Error(`${name} was loaded with tracing off`);
      });
    }
    try {
      await jest.isolateModulesAsync(offTracerIsInert);
    } finally {
      for (const name of sdkModules) jest.dontMock(name);
    }

    async function offTracerIsInert(): Promise<void> {
      // A fresh copy of the module, loaded after the mocks above, in this isolated registry.
      const isolated = jest.requireActual<typeof TracingModule>('../../src/tracing/tracing');
      for (const off of [
        await isolated.startTracing({ serviceName: TRACING_SERVICE_NAME, nodeId: 'n1' }),
        await isolated.startTracing({ serviceName: TRACING_SERVICE_NAME, nodeId: 'n1', otlpEndpoint: '' }),
      ]) {
        expect(off.enabled).toBe(false);
        const span = off.tracer.startSpan('leadership.propose');
        expect(span.isRecording()).toBe(false);
        expect(span.spanContext().traceFlags).toBe(0);
        span.end();
        await expect(off.shutdown()).resolves.toBeUndefined();
      }
    }
  });

  it('with an endpoint exports spans over OTLP/HTTP to it, flushing them on shutdown', async () => {
    const requests: Array<{ method: string; url: string; body: string }> = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = collector.address() as AddressInfo;
      const child = await runChild(`http://127.0.0.1:${port}/v1/traces`);
      expect(child).toMatchObject({ code: 0, stderr: '' });
      expect(child.stdout).toMatch(/^stopped in \d+ ms\n$/);
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({ method: 'POST', url: '/v1/traces' });
      // The OTLP/HTTP exporter sends JSON: the resource and the span are in the body.
      const body = requests[0]!.body;
      for (const text of [
        'omnirelay-control-plane',
        'service.instance.id',
        'leadership.propose',
        'corr-child',
      ]) {
        expect(body).toContain(text);
      }
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });

  it('stops within its bound when the collector cannot be reached', async () => {
    // Port 9 on loopback: nothing listens, so every export attempt is refused and retried.
    const child = await runChild('http://127.0.0.1:9/v1/traces');
    expect(child).toMatchObject({ code: 0, stderr: '' });
    const stoppedMs = Number(/^stopped in (\d+) ms\n$/.exec(child.stdout)?.[1]);
    expect(stoppedMs).toBeGreaterThanOrEqual(0);
    expect(stoppedMs).toBeLessThan(TRACING_SHUTDOWN_MS_MAX + 500);
  });
});
