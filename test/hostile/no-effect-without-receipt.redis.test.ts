/**
 * Issue 14, finding 3: an event with an eventId the receipts cannot take ("order 42", not a safe
 * id) sent straight through `GovernorProducer.send` committed Subscription `Trial` while the
 * receipts actor refused it: an effect without its receipt. Now the node checks every lifecycle
 * message with the same validator as `governor enqueue` before the orchestrator sees it, so such
 * an event is dead-lettered with the reason and no governor commits anything for it.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { listDeadLetters } from '../../src/transport/bullmq/dead-letters.ts';
import { GovernorProducer } from '../../src/transport/bullmq/index.ts';
import { GOVERNORS } from '../../machines/governor-protocol.ts';
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

it('an event whose eventId is not a safe id is dead-lettered naming $.event.eventId, and no governor or receipt is written', async () => {
  const prefix = `${redis.prefix}:{receiptless}`;
  node = await startNodeProcess('marketplace-node.ts', 'receiptless', { REDIS_URL: redis.url, GOVERNOR_PREFIX: prefix, PARTITIONS: '2' });
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: 2 });
  const dlq = new Queue(new RedisKeys(prefix).deadLetterQueue, { connection: redis.client(), prefix });
  const store = new RedisStore(redis.client(), { prefix });
  try {
    const to = { entity: 'Orchestrator', key: 'c-order' };
    const event = { type: 'CustomerSubscribes', eventId: 'order 42', customerId: 'c-order', occurredAt: new Date().toISOString(), sku: 'PRO-MONTHLY', tier: 'professional' };
    await producer.send(to, { type: 'lifecycle', event, receivedAt: Date.now() }, { id: 'ev.c-order/order-42' });

    let letters = await listDeadLetters(dlq);
    for (let i = 0; i < 200 && letters.length === 0; i++) {
      await sleep(50);
      letters = await listDeadLetters(dlq);
    }
    expect(letters, node.log()).toHaveLength(1);
    expect(letters[0]!.reason).toMatch(/\$\.event\.eventId/);
    for (const kind of [...GOVERNORS, 'Receipts', 'Orchestrator']) {
      expect(await store.load({ entity: kind, key: 'c-order' }), kind).toBeUndefined();
    }
  } finally {
    await dlq.close();
    await producer.close();
  }
});
