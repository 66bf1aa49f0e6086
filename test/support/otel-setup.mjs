/**
 * TEST ONLY: an OpenTelemetry SDK for a real `governor` process, registered before the command
 * runs (`NODE_OPTIONS=--import=<this file>`), as an operator would register theirs: a
 * BasicTracerProvider with an InMemorySpanExporter, the AsyncLocalStorage context manager and
 * the W3C propagator. When the process exits, the spans it finished are appended as JSON lines to
 * the file named by GOVERNOR_TEST_SPANS_FILE (one file for every process of a test: appends of
 * whole lines, at each process's exit). See test/telemetry/otel-traces.redis.test.ts.
 */
import { appendFileSync } from 'node:fs';
import process from 'node:process';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const file = process.env.GOVERNOR_TEST_SPANS_FILE;
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

process.on('exit', () => {
  if (!file) return;
  const lines = exporter.getFinishedSpans().map((span) =>
    JSON.stringify({
      pid: process.pid,
      name: span.name,
      kind: span.kind,
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      parentSpanId: span.parentSpanContext?.spanId,
      attributes: span.attributes,
      status: span.status,
    }),
  );
  if (lines.length > 0) appendFileSync(file, `${lines.join('\n')}\n`);
});
