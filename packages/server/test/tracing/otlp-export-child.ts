/**
 * otlp-export-child starts tracing with an OTLP endpoint, ends one span, shuts tracing down and
 * prints `stopped in <ms> ms`. The export test runs it as its own process because the OTLP HTTP exporter
 * loads `http` with a dynamic import, which Jest's module sandbox cannot run.
 *
 * Usage: node -r @swc-node/register otlp-export-child.ts <otlpEndpoint>
 */
import { TRACING_SERVICE_NAME, startTracing } from '../../src/tracing/tracing';

async function main(): Promise<void> {
  const [otlpEndpoint] = process.argv.slice(2);
  if (otlpEndpoint === undefined) throw new Error('usage: otlp-export-child <otlpEndpoint>');
  const tracing = await startTracing({ serviceName: TRACING_SERVICE_NAME, nodeId: 'child', otlpEndpoint });
  const span = tracing.tracer.startSpan('leadership.propose', {
    attributes: { 'omnirelay.command.type': 'acquire', 'omnirelay.correlation_id': 'corr-child' },
  });
  if (!span.isRecording()) throw new Error('the span is not recording with an endpoint set');
  span.addEvent('proposed');
  span.addEvent('applied');
  span.end();
  const started = Date.now();
  await tracing.shutdown();
  process.stdout.write(`stopped in ${Date.now() - started} ms\n`);
  // As main.ts does after stop(): an export still retrying past the shutdown bound is abandoned.
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
