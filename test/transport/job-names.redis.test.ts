/**
 * BullMQ job names, what Bull Board and Taskforce list jobs by, on a real node and a private
 * `redis-server`: a relayed message's job is named by its message type, a producer's by its message type or the name it gives, a lifecycle event enqueued
 * by `enqueueEvents` by the event's type. The name is informative only: a job named anything (a
 * producer in another language naming every job `lifecycle`) runs by its data.
 */
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EntityAddress, EntityKind } from '../../src/index.ts';
import { enqueueEvents } from '../../src/cli/enqueue/producer.ts';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import { parseLifecycleEvent } from '../../src/marketplace/event-validation.ts';
import { KeyPartitions } from '../../src/store/key-partitions.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer, jobIdFor, startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { counter } from '../fixtures/machines.ts';
import { privateRedisForFile } from '../support/private-redis.ts';
import { eventually } from './conformance.ts';

const file = privateRedisForFile();
const PARTITIONS = 4;
const KINDS: EntityKind[] = [{ kind: 'Counter', machine: counter }];
const ADDRESS: EntityAddress = { entity: 'Counter', key: 'c-1' };
let closing: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closing.reverse()) await close();
  closing = [];
});

/** A node and a producer on a prefix of their own, keeping completed jobs so their names can be read. */
async function fleet() {
  const prefix = file.prefix('names');
  const node: BullmqNode = await startBullmqNode({
    url: file.redis.url,
    prefix,
    name: 'n0',
    kinds: KINDS,
    partitions: PARTITIONS,
    leaseMs: 2_000,
    heartbeatMs: 150,
    removeOnComplete: { count: 1_000 },
    logger: pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' }),
  });
  closing.push(() => node.stop({ timeoutMs: 1_000 }));
  const producer = await GovernorProducer.connect({ url: file.redis.url, prefix, partitions: PARTITIONS, removeOnComplete: { count: 1_000 } });
  closing.push(() => producer.close());
  const keys = new RedisKeys(prefix);
  const queueOf = (name: string) => {
    const queue = new Queue(name, { connection: file.client, prefix });
    closing.push(() => queue.close());
    return queue;
  };
  const partitionQueue = queueOf(keys.partitionQueue(new KeyPartitions(PARTITIONS, 'sharded').partitionOf(ADDRESS)));
  const count = async () => ((await node.node.call(ADDRESS, { type: 'get' })) as { count: number }).count;
  return { node, producer, keys, queueOf, partitionQueue, count };
}

describe('job names', () => {
  it('a relayed message is named by its message type', async () => {
    const { node, partitionQueue } = await fleet();
    // A call from the node to an entity goes through the relay into the entity's partition queue
    // (its job completes just after the reply is sent).
    expect(await node.node.call(ADDRESS, { type: 'get' })).toEqual({ count: 0, dings: 0 });
    const completed = await eventually(async () => {
      const jobs = await partitionQueue.getJobs(['completed']);
      expect(jobs).toHaveLength(1);
      return jobs;
    }, 60_000);
    expect(completed[0]!.name).toBe('get');
    expect((completed[0]!.data as { env: unknown }).env).toMatchObject({ t: 'call', event: { type: 'get' } });
  }, 90_000);

  it('a producer’s job is named by its message type, or by the name it gives; the name is never read', async () => {
    const { producer, partitionQueue, count } = await fleet();
    await producer.send(ADDRESS, { type: 'inc' }, { id: 'm-1' });
    await producer.sendMany([{ to: ADDRESS, event: { type: 'inc' }, id: 'm-2', name: 'Increment' }]);
    // Another producer naming its job as it likes, even after another message type: the data decides.
    await partitionQueue.add('lifecycle', { v: 1, id: 'm-3', env: { t: 'cast', to: ADDRESS, event: { type: 'inc' } } }, { jobId: jobIdFor(ADDRESS, 'm-3') });
    await partitionQueue.add('get', { v: 1, id: 'm-4', env: { t: 'cast', to: ADDRESS, event: { type: 'inc' } } }, { jobId: jobIdFor(ADDRESS, 'm-4') });
    await eventually(async () => expect(await count()).toBe(4), 60_000);
    const names = new Map((await partitionQueue.getJobs(['completed'])).map((job) => [job.id, job.name]));
    expect([1, 2, 3, 4].map((n) => names.get(jobIdFor(ADDRESS, `m-${n}`)))).toEqual(['inc', 'Increment', 'lifecycle', 'get']);
    expect(await partitionQueue.getJobCounts('failed')).toEqual({ failed: 0 });
  }, 90_000);

  it('a lifecycle event enqueued by enqueueEvents is named by the event type, not by its wrapper', async () => {
    const prefix = file.prefix('enqueue');
    const event = parseLifecycleEvent({ type: 'CustomerSubscribes', eventId: 'e-1', customerId: 'cust-1', occurredAt: new Date().toISOString(), sku: 'PRO-MONTHLY', tier: 'professional' });
    if (!event.ok) throw new Error(JSON.stringify(event));
    const result = await enqueueEvents({ url: file.redis.url, prefix, partitions: PARTITIONS, batch: 10 }, [event.event]);
    expect(result.ids).toEqual(['e-1']);
    const to = { entity: 'Orchestrator', key: 'cust-1' };
    const queue = new Queue(new RedisKeys(prefix).partitionQueue(new KeyPartitions(PARTITIONS, 'sharded').partitionOf(to)), { connection: file.client, prefix });
    closing.push(() => queue.close());
    const job = await queue.getJob(jobIdFor(to, messageIdOf(event.event)));
    expect(job?.name).toBe('CustomerSubscribes');
    expect((job?.data as { env: { event: { type: string } } }).env.event.type).toBe('lifecycle');
  }, 60_000);
});
