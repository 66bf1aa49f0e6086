import { createTraceState, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { checkJob } from '../../src/transport/bullmq/job-format.ts';
import { contextOfCarrier, MAX_TRACESTATE_LENGTH, traceCarrier } from '../../src/transport/bullmq/trace-context.ts';

// The job's `trace` field: what a producer writes from its span, and what a node reads back.
const tracer = new BasicTracerProvider().getTracer('trace-context-test');
const env = { t: 'cast', to: { entity: 'Orchestrator', key: 'c-1' }, event: { type: 'lifecycle' } };

describe('writing a carrier', () => {
  it('writes nothing without a span, or with the API’s no-op span (no SDK)', () => {
    expect(traceCarrier(ROOT_CONTEXT)).toBeUndefined();
    expect(traceCarrier()).toBeUndefined();
    expect(traceCarrier(trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 })))).toBeUndefined();
  });

  it('writes the span’s W3C traceparent, sampled flag and tracestate', () => {
    const span = tracer.startSpan('producer');
    const { traceId, spanId } = span.spanContext();
    expect(traceCarrier(trace.setSpan(ROOT_CONTEXT, span))).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
    const withState = trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE, traceState: createTraceState('vendor=one,other=two') });
    expect(traceCarrier(trace.setSpan(ROOT_CONTEXT, withState))).toEqual({ traceparent: `00-${traceId}-${spanId}-00`, tracestate: 'vendor=one,other=two' });
    span.end();
  });
});

describe('reading a carrier', () => {
  it('gives back the sender’s span context, as a remote parent', () => {
    const span = tracer.startSpan('producer');
    const carrier = traceCarrier(trace.setSpan(ROOT_CONTEXT, span))!;
    const read = contextOfCarrier({ ...carrier, tracestate: 'vendor=one' });
    expect(read.ok).toBe(true);
    const parent = trace.getSpanContext(read.ok ? read.context : ROOT_CONTEXT)!;
    expect(parent).toMatchObject({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(parent.traceState?.get('vendor')).toBe('one');
    // A span started under it is in the same trace, its child.
    const child = tracer.startSpan('consumer', {}, read.ok ? read.context : ROOT_CONTEXT);
    expect(child.spanContext().traceId).toBe(span.spanContext().traceId);
    span.end();
    child.end();
  });

  it('reads a later version’s traceparent by its first four fields', () => {
    expect(contextOfCarrier({ traceparent: `01-${'a'.repeat(32)}-${'b'.repeat(16)}-01-future` }).ok).toBe(true);
  });

  it.each([
    ['a string', 'not-an-object', /trace must be an object/],
    ['null', null, /trace must be an object/],
    ['an array', [], /trace must be an object/],
    ['an unknown field', { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, baggage: 'x' }, /unknown field "baggage"/],
    ['no traceparent', {}, /traceparent must be a string/],
    ['a number', { traceparent: 42 }, /traceparent must be a string/],
    ['an oversize traceparent', { traceparent: `00-${'a'.repeat(300)}` }, /at most 256 characters/],
    ['garbage', { traceparent: '00-not-a-trace-01' }, /is not "version-traceid/],
    ['upper-case hex', { traceparent: `00-${'A'.repeat(32)}-${'b'.repeat(16)}-01` }, /is not "version-traceid/],
    ['version ff', { traceparent: `ff-${'a'.repeat(32)}-${'b'.repeat(16)}-01` }, /version ff/],
    ['version 00 with extra fields', { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-x` }, /extra fields/],
    ['an all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01` }, /all-zero/],
    ['an all-zero parent id', { traceparent: `00-${'a'.repeat(32)}-${'0'.repeat(16)}-01` }, /all-zero/],
    ['a tracestate not a string', { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, tracestate: 7 }, /tracestate must be a string/],
    ['an oversize tracestate', { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, tracestate: `k=${'v'.repeat(MAX_TRACESTATE_LENGTH)}` }, /tracestate must be a string of at most 512/],
  ])('names what is wrong with %s, and gives no context', (_, carrier, problem) => {
    const read = contextOfCarrier(carrier);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.problem).toMatch(problem);
  });
});

describe('the job format', () => {
  it('takes `trace` as an optional field and hands it over as it came, valid or not (never a reason to refuse a job)', () => {
    expect(checkJob({ v: 1, id: 'm-1', env }, undefined)).toEqual({ ok: true, id: 'm-1', envelope: env });
    const carrier = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` };
    expect(checkJob({ v: 1, id: 'm-1', env, trace: carrier }, undefined)).toEqual({ ok: true, id: 'm-1', envelope: env, trace: carrier });
    expect(checkJob({ v: 1, id: 'm-1', env, trace: 'junk' }, undefined)).toEqual({ ok: true, id: 'm-1', envelope: env, trace: 'junk' });
    expect(checkJob({ v: 1, id: 'm-1', env, traces: carrier }, undefined)).toEqual({ ok: false, problem: 'unknown field "traces": a job\'s data is { v, id?, env, trace? }' });
  });
});
