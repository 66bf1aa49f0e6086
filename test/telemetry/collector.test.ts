import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/runtime/clock.ts';
import {
  EventBuffer,
  formatTelemetrySummary,
  InvalidTelemetryOptionError,
  MemorySink,
  REDACTED,
  startPeriodicFlush,
  TelemetryCollector,
  type TelemetryCollectorOptions,
  type TelemetryEvent,
  type TelemetrySink,
} from '../../src/observability/index.ts';

const secret = 'a-per-installation-secret-0123456789';

function collector(options: Partial<TelemetryCollectorOptions> = {}) {
  const sink = (options.sink as MemorySink | undefined) ?? new MemorySink();
  let t = Date.UTC(2026, 10, 1);
  let id = 0;
  const c = new TelemetryCollector({
    secret,
    sink,
    now: () => t,
    newId: () => `evt-${++id}`,
    platform: { node: 'v20.0.0', governor: '0.1.0' },
    ...options,
  });
  return { c, sink, advance: (ms: number) => (t += ms) };
}

function end(c: TelemetryCollector, i = 0) {
  return c.executionEnd({ organisation: `org-${i}`, feature: 'billing.invoice', duration: 5 });
}

/** Lets background flushes (started by a full batch) run to completion. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the event a sink receives', () => {
  it('has exactly the documented fields, with the injected clock, id and platform', async () => {
    const { c, sink } = collector();
    const result = c.executionEnd({
      organisation: 'acme',
      feature: 'billing.invoice',
      tier: 'professional',
      duration: 12.5,
      properties: { lines: 3, contact: 'ops@acme.example' },
    });
    expect(result.status).toBe('buffered');
    await c.flush();
    expect(sink.events).toEqual<TelemetryEvent[]>([
      {
        id: 'evt-1',
        type: 'execution_end',
        time: '2026-11-01T00:00:00.000Z',
        organisation: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown as string,
        feature: 'billing.invoice',
        tier: 'professional',
        duration: 12.5,
        success: true,
        properties: { lines: 3, contact: REDACTED.email },
        platform: { node: 'v20.0.0', governor: '0.1.0' },
      },
    ]);
  });

  it('reports the real platform by default', async () => {
    const sink = new MemorySink();
    const c = new TelemetryCollector({ secret, sink });
    c.featureAdoption({ organisation: 'o', feature: 'sso' });
    await c.flush();
    expect(sink.events[0]!.platform).toEqual({ node: process.version, governor: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('rejects malformed input as a counted result, never an exception', () => {
    const { c } = collector();
    const bad = [
      { type: 'launch', organisation: 'o', feature: 'f' },
      { type: 'error', organisation: '', feature: 'f' },
      { type: 'error', organisation: 'o', feature: 'has space' },
      { type: 'error', organisation: 'o', feature: 'ann@example.com' },
      { type: 'error', organisation: 'o', feature: '10.0.0.1' },
      { type: 'error', organisation: 'o', feature: '4111111111111111' },
      { type: 'execution_end', organisation: 'o', feature: 'f', duration: -1 },
      { type: 'execution_end', organisation: 'o', feature: 'f', duration: Number.NaN },
      { type: 'execution_end', organisation: 'o', feature: 'f', tier: 'gold' },
    ];
    for (const input of bad) expect(c.record(input as never).status).toBe('rejected');
    expect(c.summary().events.rejected).toBe(bad.length);
    expect(c.buffered).toBe(0);
  });
});

describe('error reports need opt-in', () => {
  it('withholds error events until opted in, and sends them after', async () => {
    const { c, sink } = collector();
    expect(c.errorReporting).toBe(false);
    expect(c.error({ organisation: 'o', feature: 'billing', error: new Error('boom') })).toEqual({
      status: 'withheld',
      reason: 'error_reporting_off',
    });
    c.setErrorReporting(true);
    const failure = Object.assign(new RangeError('card 4111 1111 1111 1111 refused'), { code: 'CARD_REFUSED' });
    expect(c.error({ organisation: 'o', feature: 'billing', error: failure }).status).toBe('buffered');
    await c.flush();
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({
      type: 'error',
      success: false,
      properties: { error: { name: 'RangeError', code: 'CARD_REFUSED', message: `card ${REDACTED.card} refused` } },
    });
    expect(JSON.stringify(sink.events)).not.toContain('at '); // no stack trace
    expect(c.summary().events.withheld.errorReportingOff).toBe(1);
  });

  it('opting out at run time discards error events not yet sent, and only those', async () => {
    const { c, sink } = collector({ errorReporting: true });
    c.error({ organisation: 'o', feature: 'billing' });
    end(c);
    c.error({ organisation: 'o', feature: 'billing' });
    expect(c.setErrorReporting(false)).toBe(2);
    expect(c.error({ organisation: 'o', feature: 'billing' }).status).toBe('withheld');
    await c.flush();
    expect(sink.events.map((event) => event.type)).toEqual(['execution_end']);
  });

  it('opting out while a batch is in flight keeps a failed batch from coming back', async () => {
    let release!: () => void;
    const sink: TelemetrySink = {
      name: 'slow',
      send: () =>
        new Promise<void>((_, reject) => {
          release = () => reject(new Error('sink failed'));
        }),
    };
    const { c } = collector({ sink, errorReporting: true });
    c.error({ organisation: 'o', feature: 'billing' });
    const flushing = c.flush();
    await settle();
    c.setErrorReporting(false);
    release();
    expect((await flushing).ok).toBe(false);
    expect(c.buffered).toBe(0);
  });

  it('with telemetry disabled nothing is buffered, and disabling discards the buffer', async () => {
    const { c, sink } = collector();
    end(c);
    expect(c.setEnabled(false)).toBe(1);
    expect(end(c)).toEqual({ status: 'withheld', reason: 'disabled' });
    await c.flush();
    expect(sink.events).toEqual([]);
    // Local analytics still count it: they never leave the process.
    expect(c.summary().latency['billing.invoice']!.count).toBe(2);
  });
});

describe('batching', () => {
  it('flushes a full batch of 100 by itself and keeps the remainder for the next flush', async () => {
    const { c, sink } = collector();
    for (let i = 0; i < 250; i++) end(c, i);
    await settle();
    expect(sink.batches.map((batch) => batch.length)).toEqual([100, 100]);
    expect(c.buffered).toBe(50);
    const result = await c.flush();
    expect(result).toEqual({ ok: true, sent: 50, batches: 1, buffered: 0, dropped: 0 });
    expect(sink.events.map((event) => event.id)).toEqual(Array.from({ length: 250 }, (_, i) => `evt-${i + 1}`));
  });

  it('honours a configured batch size and refuses nonsense sizes', async () => {
    const { c, sink } = collector({ batchSize: 3 });
    for (let i = 0; i < 7; i++) end(c, i);
    await c.flush();
    expect(sink.batches.map((batch) => batch.length)).toEqual([3, 3, 1]);
    for (const batchSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => new TelemetryCollector({ secret, sink, batchSize })).toThrow(InvalidTelemetryOptionError);
    }
    expect(() => new TelemetryCollector({ secret, sink, batchSize: 10, maxBuffered: 5 })).toThrow(/maxBuffered/);
  });

  it('delivers every event exactly once, in order, whatever the batch size and flush points', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.boolean(), { maxLength: 120 }),
        async (batchSize, flushAfter) => {
          const { c, sink } = collector({ batchSize, maxBuffered: 1_000 });
          for (const [i, flush] of flushAfter.entries()) {
            end(c, i);
            if (flush) await c.flush();
          }
          await settle();
          await c.flush();
          expect(sink.events.map((event) => event.id)).toEqual(flushAfter.map((_, i) => `evt-${i + 1}`));
          expect(sink.batches.every((batch) => batch.length <= batchSize)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('the drop policy when the sink is down', () => {
  it('keeps at most maxBuffered events, drops the oldest and counts them', async () => {
    const { c, sink } = collector({ batchSize: 10, maxBuffered: 30 });
    sink.down = true;
    for (let i = 0; i < 75; i++) end(c, i);
    await settle();
    const failed = await c.flush();
    expect(failed.ok).toBe(false);
    expect(failed.error).toMatch(/down/);
    expect(c.buffered).toBe(30);
    expect(c.dropped).toBe(45);

    sink.down = false;
    expect(await c.flush()).toEqual({ ok: true, sent: 30, batches: 3, buffered: 0, dropped: 45 });
    // The newest 30 survive, in order.
    expect(sink.events.map((event) => event.id)).toEqual(Array.from({ length: 30 }, (_, i) => `evt-${i + 46}`));
    const { events } = c.summary();
    expect(events).toMatchObject({ recorded: 75, sent: 30, dropped: 45, buffered: 0 });
    expect(events.failedFlushes).toBeGreaterThan(0);
    expect(events.lastError).toMatch(/down/);
  });

  it('does not hammer a down sink with a flush per event', async () => {
    let attempts = 0;
    const sink: TelemetrySink = {
      name: 'counting',
      send: async () => {
        attempts++;
        throw new Error('unreachable');
      },
    };
    const { c, advance } = collector({ sink, batchSize: 1, maxBuffered: 5, retryAfterMs: 1_000 });
    for (let i = 0; i < 20; i++) {
      end(c, i);
      await settle();
    }
    expect(attempts).toBe(1);
    advance(1_000);
    end(c);
    await settle();
    expect(attempts).toBe(2);
  });

  it('accounts for every event: sent + buffered + dropped = recorded (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('event', 'down', 'up', 'flush'), { maxLength: 150 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 20 }),
        async (steps, batchSize, extra) => {
          const { c, sink } = collector({ batchSize, maxBuffered: batchSize + extra, retryAfterMs: 0 });
          for (const step of steps) {
            if (step === 'event') end(c);
            else if (step === 'down') sink.down = true;
            else if (step === 'up') sink.down = false;
            else await c.flush();
          }
          await settle();
          const { events } = c.summary();
          expect(events.sent).toBe(sink.events.length);
          expect(events.sent + events.buffered + events.dropped).toBe(events.recorded);
          expect(events.buffered).toBeLessThanOrEqual(batchSize + extra);
          const ids = sink.events.map((event) => Number(event.id.slice(4)));
          expect([...ids].sort((a, b) => a - b)).toEqual(ids); // order kept
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('the bounded buffer', () => {
  it('drops the oldest on push and on put-back, counting each', () => {
    const buffer = new EventBuffer<number>(3);
    expect([1, 2, 3, 4].map((n) => buffer.push(n))).toEqual([0, 0, 0, 1]);
    expect(buffer.take(2)).toEqual([2, 3]);
    buffer.push(5);
    buffer.push(6);
    expect(buffer.putBack([2, 3])).toEqual(2);
    expect(buffer.take(10)).toEqual([4, 5, 6]);
    expect(buffer.dropped).toBe(3);
    expect(() => new EventBuffer(0)).toThrow(InvalidTelemetryOptionError);
  });
});

describe('periodic flush', () => {
  it('flushes a partial batch on the injected clock and stops when told', async () => {
    const clock = new SimulatedClock();
    const { c, sink } = collector();
    const stop = startPeriodicFlush(c, { clock, everyMs: 10_000 });
    end(c);
    clock.advance(9_999);
    await settle();
    expect(sink.events).toHaveLength(0);
    clock.advance(1);
    await settle();
    expect(sink.events).toHaveLength(1);
    stop();
    end(c);
    clock.advance(60_000);
    await settle();
    expect(sink.events).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('refuses a non-positive interval', () => {
    const { c } = collector();
    expect(() => startPeriodicFlush(c, { clock: new SimulatedClock(), everyMs: 0 })).toThrow(InvalidTelemetryOptionError);
  });
});

describe('the stats summary', () => {
  it('is plain JSON and renders as text', async () => {
    const { c } = collector();
    end(c);
    c.featureAdoption({ organisation: 'o', feature: 'sso', tier: 'enterprise' });
    c.recordHealth({ target: 'redis', available: true, responseTimeMs: 1.5 });
    await c.flush();
    const summary = c.summary();
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
    const text = formatTelemetrySummary(summary);
    expect(text).toContain('2 recorded, 2 sent');
    expect(text).toMatch(/billing\.invoice\s+1\s+5\.00 ms/);
    expect(text).toMatch(/outcomes by feature[\s\S]*billing\.invoice\s+1\s+0\s+0/);
    expect(text).toMatch(/enterprise \(1 organisations\)/);
    expect(text).toMatch(/redis\s+100\.00 %/);
  });
});
