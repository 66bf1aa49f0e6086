import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeTelemetryEntry,
  RedisStreamSink,
  TelemetryCollector,
  TelemetrySinkError,
  type TelemetryEvent,
} from '../../src/observability/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

const secret = 'a-per-installation-secret-0123456789';
const handles: RedisHandle[] = [];

afterEach(async () => {
  for (const handle of handles.splice(0).reverse()) await handle.stop();
});

async function redisFor(mode: 'auto' | 'private' = 'auto'): Promise<RedisHandle> {
  const handle = await startRedis({ mode });
  handles.push(handle);
  return handle;
}

/** A producer connection that fails fast while Redis is away, as the sink's docs ask. */
function producer(redis: RedisHandle): Redis {
  const client = redis.client({ enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 20 });
  client.on('error', () => {}); // connection errors are expected while the server is killed
  return client;
}

async function ready(client: Redis): Promise<void> {
  if (client.status !== 'ready') await once(client, 'ready');
}

async function readStream(client: Redis, stream: string): Promise<TelemetryEvent[]> {
  const entries = await client.xrange(stream, '-', '+');
  return entries.map(([, fields]) => decodeTelemetryEntry(fields)!);
}

let sequence = 0;
function newCollector(sink: RedisStreamSink, options: { batchSize?: number; maxBuffered?: number } = {}) {
  return new TelemetryCollector({ secret, sink, newId: () => `evt-${++sequence}`, retryAfterMs: 0, ...options });
}

describe('the Redis stream sink', () => {
  it('writes each event as one stream entry a consumer can decode', async () => {
    const redis = await redisFor();
    const client = producer(redis);
    await ready(client);
    const stream = `${redis.keyPrefix}telemetry`;
    const collector = newCollector(new RedisStreamSink({ redis: client, stream }), { batchSize: 10 });
    for (let i = 0; i < 25; i++) {
      collector.executionEnd({ organisation: 'customer-4711', feature: 'billing.invoice', duration: i, properties: { i } });
    }
    const result = await collector.flush();
    expect(result).toMatchObject({ ok: true, buffered: 0 });

    // Another connection, as another process would read it.
    const consumer = redis.client();
    const events = await readStream(consumer, stream);
    expect(events).toHaveLength(25);
    expect(events.map((event) => event.properties['i'])).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const [, fields] = (await consumer.xrange(stream, '-', '+', 'COUNT', 1))[0]!;
    expect(fields.filter((_, i) => i % 2 === 0)).toEqual(['id', 'type', 'event']);
    const raw = JSON.stringify(await consumer.xrange(stream, '-', '+'));
    expect(raw).not.toContain('customer-4711');
  });

  it('caps the stream length approximately (XADD MAXLEN ~)', async () => {
    const redis = await redisFor();
    const client = producer(redis);
    await ready(client);
    const stream = `${redis.keyPrefix}capped`;
    const collector = newCollector(new RedisStreamSink({ redis: client, stream, maxLength: 100 }), { batchSize: 100 });
    for (let i = 0; i < 1_000; i++) collector.featureAdoption({ organisation: 'o', feature: 'sso' });
    await collector.flush();
    const length = await client.xlen(stream);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(1_000);
  });

  it('rejects with TELEMETRY_SINK_FAILED when Redis is unreachable', async () => {
    const redis = await redisFor('private');
    const client = producer(redis);
    await ready(client);
    await redis.kill();
    const sink = new RedisStreamSink({ redis: client, stream: 'telemetry' });
    const event = { id: 'e' } as TelemetryEvent;
    await expect(sink.send([event])).rejects.toThrow(TelemetrySinkError);
    await expect(sink.send([event])).rejects.toMatchObject({ code: 'TELEMETRY_SINK_FAILED' });
  });
});

describe('a collector on Redis that goes down and comes back', () => {
  it('buffers while down, drops the oldest beyond the bound (counted), and delivers the rest after restart', async () => {
    // fsync always: the events acknowledged before the kill must be there after it.
    const redis = await startRedis({ mode: 'private', appendfsync: 'always' });
    handles.push(redis);
    const client = producer(redis);
    await ready(client);
    const stream = 'telemetry';
    const collector = newCollector(new RedisStreamSink({ redis: client, stream }), { batchSize: 20, maxBuffered: 50 });
    const first = sequence + 1;

    for (let i = 0; i < 40; i++) collector.executionEnd({ organisation: 'acme', feature: 'f', duration: 1 });
    expect((await collector.flush()).ok).toBe(true);

    await redis.kill();
    for (let i = 0; i < 130; i++) collector.executionEnd({ organisation: 'acme', feature: 'f', duration: 1 });
    const down = await collector.flush();
    expect(down.ok).toBe(false);
    expect(collector.buffered).toBe(50);
    expect(collector.dropped).toBe(80);

    await redis.restart();
    await ready(client);
    expect(await collector.flush()).toMatchObject({ ok: true, sent: 50, buffered: 0, dropped: 80 });

    // The 40 sent before the kill survived it (AOF); the 80 oldest of the outage were dropped.
    const ids = (await readStream(client, stream)).map((event) => Number(event.id.slice(4)) - first);
    const expected = [...Array.from({ length: 40 }, (_, i) => i), ...Array.from({ length: 50 }, (_, i) => 40 + 80 + i)];
    expect(ids).toEqual(expected);
    expect(collector.summary().events).toMatchObject({ recorded: 170, sent: 90, dropped: 80, buffered: 0 });
  });
});
