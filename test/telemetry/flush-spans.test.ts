import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSpans, SPAN_FLUSH_LIMIT_MS } from '../../src/cli/flush-spans.ts';

/** A registered SDK as the API sees it: a tracer provider with a `forceFlush` of its own. */
function register(forceFlush: () => Promise<void>): void {
  const provider = { getTracer: () => ({}) as Tracer, forceFlush } as TracerProvider;
  trace.setGlobalTracerProvider(provider);
}

afterEach(() => {
  trace.disable();
  vi.useRealTimers();
});

describe('flushing the last spans before a command ends', () => {
  it('hands them to the exporter, and says nothing when it takes them', async () => {
    const forceFlush = vi.fn(async () => {});
    register(forceFlush);
    const warn = vi.fn();
    await flushSpans(warn);
    expect(forceFlush).toHaveBeenCalledTimes(1);
    expect(warn).not.toHaveBeenCalled();
  });

  it('does not hold the command on an exporter that never answers, and says the spans were not exported', async () => {
    vi.useFakeTimers();
    register(() => new Promise<void>(() => {}));
    const warn = vi.fn();
    const flushed = flushSpans(warn);
    await vi.advanceTimersByTimeAsync(SPAN_FLUSH_LIMIT_MS);
    await flushed;
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/did not take the last spans within 5000 ms/));
  });

  it('says why when the exporter fails', async () => {
    register(async () => {
      throw new Error('collector refused');
    });
    const warn = vi.fn();
    await flushSpans(warn);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/failed on the last spans: collector refused/));
  });

  it('does nothing without an SDK', async () => {
    const warn = vi.fn();
    await flushSpans(warn);
    expect(warn).not.toHaveBeenCalled();
  });
});
