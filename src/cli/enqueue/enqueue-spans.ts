import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { LifecycleEvent } from '../../marketplace/event-schema.ts';
import { pseudonymiseCustomer } from '../../marketplace/receipts.ts';
import { ORCHESTRATOR_KIND } from '../../marketplace/lifecycle-message.ts';
import { traceCarrier, type TraceCarrier } from '../../transport/bullmq/trace-context.ts';

/** The span of one lifecycle event `governor enqueue` sends: the root of the event's trace. */
export const ENQUEUE_SPAN = 'governor.enqueue';

/** The spans of one batch of events, and what each event's job carries. */
export interface EnqueueSpans {
  /** The `trace` field of an event's job (`undefined`: no SDK records spans in this process). */
  carrierOf(event: LifecycleEvent): TraceCarrier | undefined;
  /** Ends every span of the batch; with an error, marked failed. */
  end(error?: unknown): void;
}

/**
 * Starts a `governor.enqueue` span (kind producer) per event of a batch, so each event is a
 * trace of its own, from the command to the commits on the nodes (the job's `trace` field carries
 * it, see `trace-context.ts`). Through `@opentelemetry/api` only: without an SDK registered in
 * the process (`node --import ./otel-setup.mjs`) they are no-op spans and no job carries a trace.
 * The customer shows as its receipt pseudonym under `pseudonymKey` (as on the nodes' spans and
 * in their logs), or not at all without one.
 */
export function startEnqueueSpans(events: readonly LifecycleEvent[], queueOf: (event: LifecycleEvent) => string, pseudonymKey: string | undefined): EnqueueSpans {
  const tracer = trace.getTracer('governor');
  const spans = new Map<LifecycleEvent, Span>();
  for (const event of events) {
    const span = tracer.startSpan(ENQUEUE_SPAN, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': queueOf(event),
        'governor.event.type': 'lifecycle',
        'governor.lifecycle.type': event.type,
        'governor.entity.kind': ORCHESTRATOR_KIND,
        ...(pseudonymKey !== undefined && { 'governor.entity.key': `~${pseudonymiseCustomer(event.customerId, pseudonymKey).slice(0, 16)}` }),
      },
    });
    spans.set(event, span);
  }
  return {
    carrierOf: (event) => {
      const span = spans.get(event);
      return span && traceCarrier(trace.setSpan(ROOT_CONTEXT, span));
    },
    end: (error) => {
      for (const span of spans.values()) {
        if (error !== undefined) {
          // By its type only: a message may quote a customer id, which spans never show.
          const type = error instanceof Error ? error.name : typeof error;
          span.setAttribute('error.type', type);
          span.setStatus({ code: SpanStatusCode.ERROR, message: type });
        }
        span.end();
      }
    },
  };
}
