/**
 * Explicit postpone on a real node (issue 21): a message that an entity's current state neither
 * takes nor postpones crashes the entity, and on BullMQ that means its job is retried and then
 * dead-lettered with a reason naming the machine, the state and the event type. It is never
 * parked, nothing is committed for it, and the messages behind it are applied.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { listDeadLetters } from '../../src/transport/bullmq/dead-letters.ts';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { lifecycleMessage } from '../../src/cli/enqueue/producer.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { sleep } from '../fault/ledger-stream.ts';
import { startNodeProcess, type NodeProcess } from '../fault/node-process.ts';

let redis: RedisHandle;
let node: NodeProcess | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await node?.kill('SIGKILL');
  await redis.stop();
});

it('a message of a type no state of a governor takes is dead-lettered with the state and the type, and the next event is applied', async () => {
  const prefix = `${redis.prefix}-unhandled`;
  // Two partitions, as the node: an entity's keys carry its partition's hash tag.
  const keys = new RedisKeys(prefix, { partitions: 2 });
  node = await startNodeProcess('marketplace-node.ts', 'unhandled', { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: '2' });
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: 2 });
  const dlq = new Queue(keys.deadLetterQueue, { connection: redis.client(), prefix });
  const store = new RedisStore(redis.client(), { prefix, partitions: 2 });
  try {
    const billing = { entity: 'Billing', key: 'c-unhandled' };
    await producer.send(billing, { type: 'Bogus', amount: 5 }, { id: 'bogus-1' });
    const subscribe = {
      type: 'CustomerSubscribes' as const,
      eventId: 'sub-1',
      customerId: 'c-unhandled',
      occurredAt: new Date().toISOString(),
      sku: 'PRO-MONTHLY',
      tier: 'professional' as const,
    };
    await producer.sendMany([lifecycleMessage(subscribe, Date.now())]);

    let letters = await listDeadLetters(dlq);
    let handled: unknown[] = [];
    for (let i = 0; i < 300 && (letters.length === 0 || handled.length === 0); i++) {
      await sleep(50);
      letters = await listDeadLetters(dlq);
      handled = (await store.readRecords([{ address: { entity: 'Orchestrator', key: 'c-unhandled' }, key: 'sub-1' }])).filter((r) => r !== undefined);
    }
    const letter = letters.find((l) => l.jobId === producer.jobIdOf(billing, 'bogus-1'));
    expect(letter, node.log()).toBeDefined();
    expect(letter!.reason).toMatch(/UNHANDLED_EVENT|got "Bogus"/);
    expect(letter!.reason).toMatch(/Billing/);
    expect(letter!.reason).toMatch(/in state "[A-Za-z]+"/);
    // The subscribe behind it went through: Billing took part and nothing of Bogus was kept.
    expect(handled, node.log()).toEqual([expect.objectContaining({ status: 'completed' })]);
    const stored = await store.load(billing);
    expect(stored?.state.postponed ?? []).toEqual([]);
    expect(JSON.stringify(stored?.state.snapshot)).not.toContain('Bogus');
  } finally {
    await dlq.close();
    await producer.close();
  }
});
