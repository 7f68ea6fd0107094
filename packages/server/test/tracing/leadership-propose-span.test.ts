import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { OmniRelayServer } from '../../src/index';
import { LeadershipService, isServerError } from '../../src/index';
import { withRequest } from '../../src/leadership/request-origin';
import type { Tracing } from '../../src/tracing/tracing';
import { TRACING_SERVICE_NAME, startTracing } from '../../src/tracing/tracing';
import type { SingleNode } from '../support/single-node';
import { startSingleNode } from '../support/single-node';

/**
 * The span around one write, seen through an InMemorySpanExporter: a LeadershipService built
 * in-process on a single-node server's node, with a tracer from startTracing({ exporter }). The
 * server itself runs with tracing off, as production does by default.
 */
describe('the leadership.propose span', () => {
  jest.setTimeout(30_000);
  const exporter = new InMemorySpanExporter();
  let node: SingleNode;
  let server: OmniRelayServer;
  let tracing: Tracing;
  let service: LeadershipService;

  beforeAll(async () => {
    node = await startSingleNode();
    server = node.server;
    tracing = await startTracing({ serviceName: TRACING_SERVICE_NAME, nodeId: 'solo', exporter });
    service = new LeadershipService(
      server.node,
      server.stateMachine,
      server.hub,
      () => undefined,
      () => undefined,
      tracing.tracer,
    );
  });

  afterAll(async () => {
    await tracing.shutdown();
    await node.stop();
  });

  beforeEach(() => exporter.reset());

  function onlySpan(): ReadableSpan {
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['leadership.propose']);
    return spans[0]!;
  }

  it('traces an acquire from proposal to apply with the command, the scope and the Raft position', async () => {
    const outcome = await service.acquire({
      scope: 'traced-scope',
      candidateId: 'a',
      leaseTtlMs: 60_000,
      correlationId: 'corr-acquire-1',
    });
    expect(outcome.type).toBe('acquire');

    const span = onlySpan();
    expect(span.attributes).toMatchObject({
      'omnirelay.command.type': 'acquire',
      'omnirelay.scope': 'traced-scope',
      'omnirelay.correlation_id': 'corr-acquire-1',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.events.map((e) => e.name)).toEqual(['proposed', 'applied']);
    const [proposed, applied] = span.events;
    expect(proposed?.attributes?.['omnirelay.command.bytes']).toEqual(expect.any(Number));
    // A single node that just won its first election writes in term 1.
    expect(applied?.attributes?.['omnirelay.raft.term']).toBe(1);
    expect(applied?.attributes?.['omnirelay.command.ok']).toBe(true);
    const index = applied?.attributes?.['omnirelay.raft.index'];
    expect(index).toEqual(expect.any(Number));
    expect(index as number).toBeGreaterThan(0);
    expect(index as number).toBeLessThanOrEqual(server.node.applied);
    expect(span.attributes['omnirelay.raft.index']).toBe(index);
    expect(span.resource.attributes).toMatchObject({
      'service.name': 'omnirelay-control-plane',
      'service.instance.id': 'solo',
    });
  });

  it('marks a refused acquire (invalid scope) as an error carrying the code', async () => {
    const refused = await service
      .acquire({ scope: 'Not A Scope!', candidateId: 'a', leaseTtlMs: 60_000, correlationId: 'corr-bad' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isServerError(refused, 'INVALID_SCOPE')).toBe(true);

    const span = onlySpan();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'INVALID_SCOPE' });
    expect(span.attributes).toMatchObject({
      'error.type': 'INVALID_SCOPE',
      'omnirelay.command.type': 'acquire',
      'omnirelay.scope': 'Not A Scope!',
      'omnirelay.correlation_id': 'corr-bad',
    });
    // The scope is refused before anything is handed to Raft.
    expect(span.events.map((e) => e.name)).toEqual([]);
  });

  it('traces a write the state machine refuses after applying it, with the code', async () => {
    const stale = await service.resign('traced-scope', 999_999n, 'corr-stale').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isServerError(stale)).toBe(true);
    const code = (stale as { code: string }).code;

    const span = onlySpan();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: code });
    expect(span.events.map((e) => e.name)).toEqual(['proposed', 'applied']);
    expect(span.events[1]?.attributes?.['omnirelay.command.ok']).toBe(false);
  });

  it("joins the caller's trace when the request carried a W3C traceparent", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpanId = '00f067aa0ba902b7';
    const headers: Record<string, string> = { traceparent: `00-${traceId}-${parentSpanId}-01` };
    await withRequest(
      'h2c',
      (name) => headers[name],
      () => service.acquire({ scope: 'traced-child', candidateId: 'a', leaseTtlMs: 60_000 }),
    );
    const span = onlySpan();
    expect(span.spanContext().traceId).toBe(traceId);
    const parent = span as unknown as { parentSpanContext?: { spanId: string }; parentSpanId?: string };
    expect(parent.parentSpanContext?.spanId ?? parent.parentSpanId).toBe(parentSpanId);

    // A malformed header is ignored: the span starts a trace of its own.
    exporter.reset();
    await withRequest(
      'h2c',
      () => 'not-a-traceparent',
      () => service.acquire({ scope: 'traced-root', candidateId: 'a', leaseTtlMs: 60_000 }),
    );
    expect(onlySpan().spanContext().traceId).not.toBe(traceId);
  });
});
