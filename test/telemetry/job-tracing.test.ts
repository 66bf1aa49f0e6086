import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/runtime/envelope.ts';
import type { ProcessRecord } from '../../src/runtime/process-record.ts';
import { JobTracing } from '../../src/transport/bullmq/job-tracing.ts';

// A node's spans with the `tracing` option (GOVERNOR_OTEL=1): nothing at all until an SDK is
// registered in the process, then a span per job, step and commit.

const envelope: Envelope = { t: 'cast', to: { entity: 'Billing', key: 'c-1' }, event: { type: 'prepare' } };
const entityProcess = { host: { entity: 'Billing', key: 'c-1' } } as unknown as ProcessRecord;
const warnings: { problem?: string }[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { problem?: string }) });
const carrier = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` };

afterAll(() => trace.disable());

describe('without an OpenTelemetry SDK', () => {
  it('starts nothing: no job span, steps run as they are, commits too', async () => {
    const tracing = new JobTracing(() => logger);
    expect(tracing.recording).toBe(false);
    expect(tracing.startJob('{p.1}', 'j-1', envelope, carrier)).toBeUndefined();
    let handled = 0;
    tracing.step(entityProcess, envelope, () => void handled++);
    expect(handled).toBe(1);
    expect(tracing.current).toBeUndefined();
    expect(await tracing.commit(undefined, {}, () => Promise.resolve({ status: 'ok' }))).toEqual({ status: 'ok' });
    expect(tracing.carrier()).toBeUndefined();
  });
});

describe('with an SDK registered', () => {
  const exporter = new InMemorySpanExporter();

  it('spans the job under its carrier, the step under the job, and carries the step’s context', () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const tracing = new JobTracing(() => logger, { entityKey: () => '~pseudonym' });
    expect(tracing.recording).toBe(true);
    const job = tracing.startJob('{p.1}', 'j-1', envelope, carrier)!;
    let sent: unknown;
    tracing.within(job.context, () => tracing.step(entityProcess, envelope, () => void (sent = tracing.carrier())));
    job.end();
    const [step, process] = exporter.getFinishedSpans();
    expect(process!.name).toBe('governor.process');
    expect(process!.parentSpanContext?.spanId).toBe('b'.repeat(16));
    expect(process!.spanContext().traceId).toBe('a'.repeat(32));
    expect(process!.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.destination.name': '{p.1}', 'governor.entity.kind': 'Billing', 'governor.entity.key': '~pseudonym', 'governor.event.type': 'prepare' });
    expect(step!.name).toBe('governor.step');
    expect(step!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
    // What the step sent carries the step itself as parent.
    expect(sent).toEqual({ traceparent: `00-${'a'.repeat(32)}-${step!.spanContext().spanId}-01` });
  });

  it('ignores a carrier that is not valid, with a warning and the reason on the span', () => {
    exporter.reset();
    const tracing = new JobTracing(() => logger);
    tracing.startJob('{p.1}', 'j-2', envelope, { traceparent: 'junk' })!.end();
    const [span] = exporter.getFinishedSpans();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.attributes['governor.trace.ignored']).toMatch(/traceparent/);
    expect(warnings.at(-1)?.problem).toMatch(/traceparent/);
  });

  it('names a step’s failure by its type only, never by a message that may quote an entity’s key', () => {
    exporter.reset();
    const tracing = new JobTracing(() => logger);
    expect(() =>
      tracing.step(entityProcess, envelope, () => {
        throw new TypeError('Billing/c-1 broke');
      }),
    ).toThrow('Billing/c-1 broke');
    const [span] = exporter.getFinishedSpans();
    expect(span!.attributes['error.type']).toBe('TypeError');
    expect(span!.status).toEqual({ code: 2, message: 'TypeError' });
    expect(JSON.stringify([span!.attributes, span!.status, span!.events])).not.toContain('c-1');
  });
});
