/**
 * Completed jobs on the BullMQ transport: by default a job leaves Redis as it completes (keeping
 * it cost Redis some 4 commands and 2 KB per message), and a message sent again under its id
 * after that is still handled once: its target's handled set, checked by the commit, recognises
 * it. With `removeOnComplete` set to keep jobs, BullMQ keeps the completed job (and its data).
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EntityAddress, EntityKind } from '../../src/index.ts';
import { GovernorProducer, jobIdFor, startBullmqNode, type BullmqNode, type BullmqTransportOptions } from '../../src/transport/bullmq/index.ts';
import { KeyPartitions } from '../../src/store/key-partitions.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { counter } from '../fixtures/machines.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { eventually } from './conformance.ts';

const PARTITIONS = 4;
const KINDS: EntityKind[] = [{ kind: 'Counter', machine: counter }];

let redis: RedisHandle;
let client: Redis;
let serial = 0;
let closing: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
  client = new Redis(redis.url);
});
afterEach(async () => {
  for (const close of closing.reverse()) await close();
  closing = [];
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

/** A node and a producer on a prefix of their own, with the same job options. */
async function fleet(options: Pick<BullmqTransportOptions, 'removeOnComplete'> = {}) {
  const prefix = `${redis.prefix}:{cj${++serial}}`;
  const node: BullmqNode = await startBullmqNode({
    url: redis.url,
    prefix,
    name: 'n0',
    kinds: KINDS,
    partitions: PARTITIONS,
    leaseMs: 2_000,
    heartbeatMs: 150,
    logger: pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' }),
    ...options,
  });
  closing.push(() => node.stop({ timeoutMs: 1_000 }));
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: PARTITIONS, ...options });
  closing.push(() => producer.close());
  const keys = new RedisKeys(prefix);
  const queue = keys.partitionQueue(new KeyPartitions(PARTITIONS, 'sharded').partitionOf(ADDRESS));
  /** The Redis hash of the job carrying message `id` to the counter. */
  const jobKey = (id: string) => keys.queueKey(queue, jobIdFor(ADDRESS, id));
  const count = async () => ((await node.node.call(ADDRESS, { type: 'get' })) as { count: number }).count;
  return { node, producer, jobKey, count, completed: () => client.zcard(keys.queueKey(queue, 'completed')) };
}

const ADDRESS: EntityAddress = { entity: 'Counter', key: 'c-1' };

describe('completed jobs, by default', () => {
  it('leave Redis as they complete, and a message sent again under its id has no second effect', async () => {
    const { producer, jobKey, count, completed } = await fleet();
    await producer.send(ADDRESS, { type: 'inc' }, { id: 'm-1' });
    await eventually(async () => expect(await count()).toBe(1));
    await eventually(async () => expect(await client.exists(jobKey('m-1'))).toBe(0));
    expect(await completed()).toBe(0);

    // The producer's retry after the job is gone: a new job, handled, recognised by the handled set.
    await producer.send(ADDRESS, { type: 'inc' }, { id: 'm-1' });
    // A later message in the same queue: once it is counted, the retry before it was handled.
    await producer.send(ADDRESS, { type: 'inc' }, { id: 'm-2' });
    await eventually(async () => expect(await count()).toBe(2));
    await eventually(async () => expect(await client.exists(jobKey('m-1'), jobKey('m-2'))).toBe(0));
  });
});

describe('completed jobs, kept by removeOnComplete', () => {
  it('stay in the completed set with their data, and a re-add of a kept id is ignored', async () => {
    const { producer, jobKey, count, completed } = await fleet({ removeOnComplete: { count: 100 } });
    await producer.send(ADDRESS, { type: 'inc' }, { id: 'm-1' });
    await eventually(async () => expect(await count()).toBe(1));
    expect(await client.hget(jobKey('m-1'), 'finishedOn')).not.toBeNull();
    expect(await client.hget(jobKey('m-1'), 'data')).toContain('"inc"');
    // The calls reading the count are messages too: one completed job each, kept as well.
    expect(await completed()).toBeGreaterThanOrEqual(2);

    await producer.send(ADDRESS, { type: 'inc' }, { id: 'm-1' });
    await producer.send(ADDRESS, { type: 'inc' }, { id: 'm-2' });
    await eventually(async () => expect(await count()).toBe(2));
    expect(await client.hget(jobKey('m-2'), 'finishedOn')).not.toBeNull();
  });
});
