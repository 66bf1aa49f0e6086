import { trace, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketplaceKinds } from '../../machines/index.ts';
import { bullmqTelemetry } from '../../src/cli/node-telemetry.ts';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

// GOVERNOR_OTEL=1 traces the node's jobs through bullmq-otel. No OpenTelemetry SDK here (its
// tracing package pins an older API), so a recording tracer stands in for one: the spans BullMQ
// starts are what an exporter would receive.

const started: { name: string; attributes: Record<string, unknown> }[] = [];

function recordingSpan(entry: (typeof started)[number]): Span {
  const span: Span = {
    spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 }),
    setAttribute: (key, value) => ((entry.attributes[key] = value), span),
    setAttributes: (attributes) => (Object.assign(entry.attributes, attributes), span),
    addEvent: () => span,
    addLink: () => span,
    addLinks: () => span,
    setStatus: () => span,
    updateName: () => span,
    end: () => undefined,
    isRecording: () => true,
    recordException: () => undefined,
  };
  return span;
}

const tracer = {
  startSpan(name: string) {
    const entry = { name, attributes: {} };
    started.push(entry);
    return recordingSpan(entry);
  },
} as unknown as Tracer;

let redis: RedisHandle;
let node: BullmqNode | undefined;
let producer: GovernorProducer | undefined;

beforeAll(async () => {
  trace.setGlobalTracerProvider({ getTracer: () => tracer } satisfies TracerProvider);
  redis = await startRedis();
});
afterAll(async () => {
  await producer?.close();
  await node?.stop({ timeoutMs: 0 });
  trace.disable();
  await redis?.stop();
});

describe('GOVERNOR_OTEL', () => {
  it('is off unless set to 1', async () => {
    expect(await bullmqTelemetry({})).toBeUndefined();
    expect(await bullmqTelemetry({ GOVERNOR_OTEL: 'true' })).toBeUndefined();
  });

  it('gives BullMQ a telemetry that spans each job added and processed on the node', async () => {
    const telemetry = await bullmqTelemetry({ GOVERNOR_OTEL: '1' });
    expect(telemetry).toBeDefined();
    node = await startBullmqNode({
      url: redis.url,
      prefix: redis.prefix,
      partitions: 2,
      kinds: marketplaceKinds({ pseudonymKey: 'otel-test-pseudonym-key-0123456789' }),
      telemetry,
    });
    producer = await GovernorProducer.connect({ url: redis.url, prefix: redis.prefix, partitions: 2, telemetry });
    const event = { eventId: 'otel-1', customerId: 'otel-c1', occurredAt: new Date().toISOString(), type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' };
    const queue = producer.queueOf({ entity: 'Orchestrator', key: 'otel-c1' });
    // Under its message id: the node refuses a lifecycle event under any other.
    await producer.send({ entity: 'Orchestrator', key: 'otel-c1' }, { type: 'lifecycle', event, receivedAt: Date.now() }, { id: messageIdOf(event) });

    const deadline = Date.now() + 60_000;
    while (!started.some((span) => span.name === `process ${queue}`) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const names = started.map((span) => span.name);
    expect(names.some((name) => name.startsWith(`add ${queue}`) || name === `addBulk ${queue}`)).toBe(true);
    expect(names).toContain(`process ${queue}`);
    expect(started.find((span) => span.name === `process ${queue}`)!.attributes['bullmq.queue.name']).toBe(queue);
  });
});
