import { trace } from '@opentelemetry/api';
import { systemClock } from '../runtime/clock.ts';

/** What an OpenTelemetry SDK's tracer provider has and the API does not promise. */
interface FlushableProvider {
  getDelegate?(): unknown;
  forceFlush?(): Promise<void>;
}

/** How long a command waits for the exporter to take its last spans before it ends anyway. */
export const SPAN_FLUSH_LIMIT_MS = 5_000;

/**
 * Hands the spans this process finished to the registered SDK's exporter before the command ends.
 * A batching span processor (the usual one) exports every few seconds: `governor enqueue` exits
 * sooner, which would drop its `governor.enqueue` spans, the root of every event's trace, and a
 * stopping node would drop its last steps and commits. The API has no flush; an SDK's provider
 * does (`forceFlush`), behind the API's proxy. Without an SDK this does nothing.
 *
 * An exporter that does not answer (a collector down) must not hold the command: past
 * {@link SPAN_FLUSH_LIMIT_MS} it ends anyway, and `warn` says the spans were not handed over.
 */
export async function flushSpans(warn: (message: string) => void): Promise<void> {
  const registered = trace.getTracerProvider() as FlushableProvider;
  const sdk = (typeof registered.getDelegate === 'function' ? registered.getDelegate() : registered) as FlushableProvider;
  if (typeof sdk.forceFlush !== 'function') return;
  let timer: unknown;
  const limit = new Promise<'late'>((resolve) => (timer = systemClock.setTimeout(() => resolve('late'), SPAN_FLUSH_LIMIT_MS)));
  try {
    const flushed = await Promise.race([sdk.forceFlush().then(() => 'flushed' as const), limit]);
    if (flushed === 'late') warn(`the OpenTelemetry exporter did not take the last spans within ${SPAN_FLUSH_LIMIT_MS} ms: they are not exported`);
  } catch (error) {
    warn(`the OpenTelemetry exporter failed on the last spans: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    systemClock.clearTimeout(timer);
  }
}
