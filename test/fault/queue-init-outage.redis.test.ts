/**
 * Redis goes away while a BullMQ Queue is being made on a fail-fast connection: the Queue's first
 * `INFO` (its version check) is in flight, and after a few failed reconnects ioredis rejects it
 * with `MaxRetriesPerRequestError`. BullMQ keeps that rejected promise, so the Queue would fail
 * every command for good, while the connection works again once Redis is back. The relay and the
 * producer must make a fresh Queue instead (a node once never started its partitions again).
 *
 * Deterministic: Redis is frozen (SIGSTOP) when the Queue is made, so its `INFO` is written but
 * never answered, then killed and restarted only after that `INFO` has failed.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { hashKey } from '../../src/store/hash-key.ts';
import { GovernorProducer, startBullmqNode } from '../../src/transport/bullmq/index.ts';
import { closeConnections, openConnections, ready, type Connections } from '../../src/transport/bullmq/connections.ts';
import { resolveSettings } from '../../src/transport/bullmq/options.ts';
import { Relay } from '../../src/transport/bullmq/relay.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { ledger } from '../fixtures/machines.ts';
import { readLedgers, sleep } from './ledger-stream.ts';

let redis: RedisHandle;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  // `always`: what the test wrote before the SIGKILL is still there after the restart.
  redis = await startRedis({ mode: 'private', appendfsync: 'always' });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await redis.stop();
});

/** Runs `make` with Redis frozen, lets what it sent fail (Redis killed meanwhile), then restarts Redis. */
async function outageDuring(make: () => Promise<unknown>): Promise<unknown> {
  process.kill(redis.pid!, 'SIGSTOP');
  const failed = make().then(
    () => undefined,
    (error: unknown) => error,
  );
  await sleep(50); // the command reaches the frozen server's socket
  await redis.kill('SIGKILL');
  const error = await failed;
  await redis.restart();
  return error;
}

/** Polls `attempt` until it resolves; the last error if it never does within `timeoutMs`. */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

function connected(): Connections {
  const settings = resolveSettings({ url: redis.url, prefix: redis.prefix });
  const connections = openConnections(settings, 'outage');
  connections.producer.on('error', () => undefined);
  connections.worker.on('error', () => undefined);
  cleanups.push(() => closeConnections(connections));
  return connections;
}

it('a relay whose Queue was being made when Redis went away adds to that queue once Redis is back', async () => {
  const connections = connected();
  await ready(connections.producer);
  const settings = resolveSettings({ url: redis.url, prefix: redis.prefix });
  const relay = new Relay(connections.producer, settings, pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' }));
  cleanups.push(() => relay.close(1_000));

  const error = await outageDuring(() => relay.queue('p.0').waitUntilReady());
  expect((error as Error | undefined)?.name).toBe('MaxRetriesPerRequestError');

  // What a partition start does first, then an add through the ordered pipe.
  await eventually(() => relay.queue('p.0').setGlobalConcurrency(1));
  await new Promise<void>((resolve) =>
    relay.push([{ queue: 'p.0', id: 'm1', env: { t: 'cast', to: { entity: 'Ledger', key: 'k' }, event: { type: 'apply', seq: 0 } } }], resolve),
  );
  const client = redis.client();
  expect(await client.hget(`${redis.prefix}:p.0:meta`, 'concurrency')).toBe('1');
  expect(await relay.queue('p.0').count()).toBe(1);
});

it('a producer whose send was under way when Redis went away sends again once Redis is back', async () => {
  const producer = await GovernorProducer.connect({ url: redis.url, prefix: redis.prefix, partitions: 1 });
  cleanups.push(() => producer.close());
  const to = { entity: 'Ledger', key: 'k' };

  const error = await outageDuring(() => producer.send(to, { type: 'apply', seq: 0 }, { id: 'm0' }));
  expect((error as Error | undefined)?.name).toBe('MaxRetriesPerRequestError');

  await eventually(() => producer.send(to, { type: 'apply', seq: 0 }, { id: 'm0' }));
  const client = redis.client();
  expect(await client.exists(`${redis.prefix}:${new RedisKeys(redis.prefix, { partitions: 1 }).partitionQueue('0')}:${producer.jobIdOf(to, 'm0')}`)).toBe(1);
});

it('a node that made a partition queue while Redis went away relays to it and starts it once Redis is back', async () => {
  const prefix = `${redis.prefix}:{outage}`;
  const keys = new RedisKeys(prefix);
  const client = redis.client();
  client.on('error', () => undefined);
  // Partition 1 is held elsewhere for now, so the node makes its Queue only when it first sends to it.
  await client.set(keys.lease('1'), 'elsewhere', 'PX', 60_000);
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const { node, transport, stop } = await startBullmqNode({ url: redis.url, prefix, name: 'n1', kinds: [{ kind: 'Ledger', machine: ledger }], partitions: 2, leaseMs: 2_000, heartbeatMs: 200, logger });
  cleanups.push(() => stop({ timeoutMs: 2_000 }));
  expect(transport.ownedPartitions()).toEqual(['0']);
  const k = [...Array(100).keys()].find((i) => hashKey(`key-${i}`) % 2 === 1)!;

  await outageDuring(async () => {
    transport.routeEntity(node, { t: 'cast', to: { entity: 'Ledger', key: `key-${k}` }, event: { type: 'apply', seq: 0 } });
    while (!lines.some((line) => line.includes('adding jobs failed') && line.includes('MaxRetriesPerRequestError'))) await sleep(20);
  });
  await client.del(keys.lease('1'));

  await eventually(async () => {
    const ledgers = await readLedgers(client, { prefix, partitions: 2 }, k + 1);
    if (ledgers[k]?.count !== 1) throw new Error(`key-${k} not applied:\n${lines.join('')}`);
  });
  expect(transport.ownedPartitions()).toEqual(['0', '1']);
  expect(lines.some((line) => line.includes('a queue could not be initialized'))).toBe(true);
});
