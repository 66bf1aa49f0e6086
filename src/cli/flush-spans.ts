import { trace } from '@opentelemetry/api';

/** What an OpenTelemetry SDK's tracer provider has and the API does not promise. */
interface FlushableProvider {
  getDelegate?(): unknown;
  forceFlush?(): Promise<void>;
}

/**
 * Hands the spans this process finished to the registered SDK's exporter before the command ends.
 * A batching span processor (the usual one) exports every few seconds: `governor enqueue` exits
 * sooner, which would drop its `governor.enqueue` spans, the root of every event's trace, and a
 * stopping node would drop its last steps and commits. The API has no flush; an SDK's provider
 * does (`forceFlush`), behind the API's proxy. Without an SDK this does nothing. A failing
 * exporter is the SDK's to report: the command's own outcome does not depend on it.
 */
export async function flushSpans(): Promise<void> {
  const registered = trace.getTracerProvider() as FlushableProvider;
  const sdk = (typeof registered.getDelegate === 'function' ? registered.getDelegate() : registered) as FlushableProvider;
  if (typeof sdk.forceFlush !== 'function') return;
  try {
    await sdk.forceFlush();
  } catch {
    // The exporter's own error handler (the SDK's diag logger) has said why.
  }
}
