import type { Tracer } from '@opentelemetry/api';
import { ProxyTracerProvider } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** TRACING_SERVICE_NAME is the `service.name` every node reports its spans under. */
export const TRACING_SERVICE_NAME = 'omnirelay-control-plane';

/** TRACER_NAME names the instrumentation scope of the server's spans. */
export const TRACER_NAME = '@omnirelay/server';

/**
 * Bounds of the batch span processor used with the OTLP exporter. A slow or unreachable
 * collector costs at most SPAN_QUEUE_SPANS_MAX queued spans (the rest are dropped, never
 * waited for), and an export never holds a batch longer than SPAN_EXPORT_TIMEOUT_MS.
 */
export const SPAN_QUEUE_SPANS_MAX = 2048;
/** SPAN_EXPORT_BATCH_SPANS_MAX bounds the spans sent in one OTLP request. */
export const SPAN_EXPORT_BATCH_SPANS_MAX = 512;
/** SPAN_EXPORT_DELAY_MS is the longest a finished span waits before its batch is sent. */
export const SPAN_EXPORT_DELAY_MS = 2000;
/** SPAN_EXPORT_TIMEOUT_MS bounds one OTLP export, retries included. */
export const SPAN_EXPORT_TIMEOUT_MS = 10_000;
/**
 * TRACING_SHUTDOWN_MS_MAX bounds how long shutdown waits for the final export: a node that is
 * stopping must not wait out SPAN_EXPORT_TIMEOUT_MS of retries against a collector that is down.
 */
export const TRACING_SHUTDOWN_MS_MAX = 2000;

/**
 * NOOP_TRACER is the API's no-op tracer: its spans are non-recording and cost next to nothing.
 * It comes from a provider of its own that is never given a delegate, so it stays a no-op even
 * if something in the process registers a global tracer provider.
 */
export const NOOP_TRACER: Tracer = new ProxyTracerProvider().getTracer(TRACER_NAME);

/** TracingOptions says where a node's spans go; with neither an endpoint nor an exporter, nowhere. */
export interface TracingOptions {
  /** serviceName is reported as `service.name`; the server passes TRACING_SERVICE_NAME. */
  readonly serviceName: string;
  /** nodeId is reported as `service.instance.id`, so each node's spans are told apart. */
  readonly nodeId: string;
  /** otlpEndpoint is the OTLP/HTTP traces URL (e.g. `http://127.0.0.1:4318/v1/traces`), used as given. */
  readonly otlpEndpoint?: string;
  /** exporter replaces the OTLP exporter (tests pass an InMemorySpanExporter); spans are exported as each ends. */
  readonly exporter?: SpanExporter;
}

/** Tracing is a started (or no-op) tracer and the way to flush and stop it. */
export interface Tracing {
  /** tracer makes the node's spans; when tracing is off it is the API's no-op tracer. */
  readonly tracer: Tracer;
  /** enabled is true when spans are recorded and exported. */
  readonly enabled: boolean;
  /** shutdown exports what is buffered and stops, within TRACING_SHUTDOWN_MS_MAX; it never throws. */
  shutdown(): Promise<void>;
}

/**
 * startTracing starts the node's tracer. Without an endpoint and an exporter it is a true no-op:
 * nothing from the SDK is loaded, nothing is started, no socket is opened, and spans from the
 * returned tracer are non-recording. Otherwise it builds a tracer provider with the resource
 * `service.name`, `service.instance.id`; it registers nothing globally and installs no
 * auto-instrumentation (which would trace every gRPC frame between peers).
 *
 * Why a BasicTracerProvider and not a NodeSDK: it is the smaller of the two. NodeSDK registers a
 * process-global provider, context manager and propagator (two servers in one process, as in
 * tests, would share the first one's `service.instance.id`), reads OTEL_* variables that can
 * start metric and log exporters, and takes more than a second to load; a provider with one
 * span processor does exactly what is asked and nothing else. The SDK modules are loaded here,
 * on first use, so a node with tracing off never pays for them.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const target = targetOf(options);
  if (target === undefined) return { tracer: NOOP_TRACER, enabled: false, shutdown: () => Promise.resolve() };
  const [{ BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor }, { resources }] = await Promise.all(
    [import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/sdk-node')],
  );
  // `resources` comes through sdk-node's public re-export, so @opentelemetry/resources needs no
  // dependency of its own.
  let processor: SpanProcessor;
  if (target.kind === 'exporter') {
    // A test's exporter sees each span as it ends, with no batch timer to wait for.
    processor = new SimpleSpanProcessor(target.exporter);
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new BatchSpanProcessor(
      new OTLPTraceExporter({ url: target.url, timeoutMillis: SPAN_EXPORT_TIMEOUT_MS }),
      {
        maxQueueSize: SPAN_QUEUE_SPANS_MAX,
        maxExportBatchSize: SPAN_EXPORT_BATCH_SPANS_MAX,
        scheduledDelayMillis: SPAN_EXPORT_DELAY_MS,
        exportTimeoutMillis: SPAN_EXPORT_TIMEOUT_MS,
      },
    );
  }
  const provider = new BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': options.serviceName,
      'service.instance.id': options.nodeId,
    }),
    spanProcessors: [processor],
  });
  let stopped: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(TRACER_NAME),
    enabled: true,
    // Tracing must never keep a node from stopping: a failed or slow final export is dropped.
    shutdown: () => (stopped ??= settleWithin(provider.shutdown(), TRACING_SHUTDOWN_MS_MAX)),
  };
}

/** settleWithin resolves when `work` settles (either way) or after `ms`, whichever is first. */
async function settleWithin(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([work.catch(() => undefined), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

type Target =
  | { readonly kind: 'exporter'; readonly exporter: SpanExporter }
  | { readonly kind: 'otlp'; readonly url: string };

/** targetOf says where spans go: an injected exporter wins over an endpoint; an empty endpoint is none. */
function targetOf(options: TracingOptions): Target | undefined {
  if (options.exporter !== undefined) return { kind: 'exporter', exporter: options.exporter };
  if (options.otlpEndpoint !== undefined && options.otlpEndpoint !== '')
    return { kind: 'otlp', url: options.otlpEndpoint };
  return undefined;
}
