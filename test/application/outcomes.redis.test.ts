import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketplaceKinds } from '../../machines/index.ts';
import type { Outcome } from '../../machines/orchestrator.ts';
import { SimulatedClock } from '../../src/runtime/clock.ts';
import { startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { readOutcomes } from '../../src/cli/enqueue/outcome-record.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

const START = Date.parse('2026-01-05T10:00:00Z');
const MINUTE = 60_000;
let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function start(prefix: string, clock: SimulatedClock, name: string): Promise<BullmqNode> {
  return startBullmqNode({
    url: redis.url,
    prefix,
    name,
    partitions: 2,
    clock,
    kinds: marketplaceKinds({ pseudonymKey: 'outcomes-redis-key-0123456789' }),
    logger: pino({ level: 'silent' }),
  });
}

describe('handled-event records on BullMQ', () => {
  it('survive a node restart: the next node reloads them from Redis and answers a redelivery with the original outcome, changing nothing', async () => {
    const prefix = `${redis.prefix}:{restart}`;
    const clock = new SimulatedClock(START);
    const event = { eventId: 'sub-1', customerId: 'c1', occurredAt: new Date(START).toISOString(), type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' };
    const submit = (node: BullmqNode) =>
      node.node.call<Outcome>({ entity: 'Orchestrator', key: 'c1' }, { type: 'lifecycle', event, receivedAt: clock.now() }, { timeout: 3_600_000 });
    const keys = new RedisKeys(prefix, { partitions: 2 }); // the nodes': an entity's keys are in its partition's slot
    const stored = (kind: string) => redis.client().hget(keys.state({ entity: kind, key: 'c1' }), 'd');

    const first = await start(prefix, clock, 'first');
    try {
      expect(await submit(first)).toMatchObject({ status: 'completed' });
      await first.transport.settled();
    } finally {
      await first.stop({ timeoutMs: 2_000 });
    }
    expect((await readOutcomes(redis.client(), keys, [{ customerId: 'c1', eventId: 'sub-1' }])).get('sub-1')).toEqual({ status: 'completed', at: START, subscriptionId: 'sub-1' });
    const billing = await stored('Billing');
    const receipts = await stored('Receipts');

    clock.advance(30 * MINUTE); // past the duplicate window
    const second = await start(prefix, clock, 'second');
    try {
      expect(await submit(second)).toEqual({ status: 'duplicate', eventId: 'sub-1', original: { status: 'completed', at: START, subscriptionId: 'sub-1' } });
      await second.transport.settled();
    } finally {
      await second.stop({ timeoutMs: 2_000 });
    }
    // Nothing changed: Billing and the receipt chain are as the first node left them.
    expect(await stored('Billing')).toBe(billing);
    expect(await stored('Receipts')).toBe(receipts);
    const orchestrator = JSON.parse((await stored('Orchestrator'))!) as { snapshot: { context: { stats: { processed: number; duplicates: number } } } };
    expect(orchestrator.snapshot.context.stats).toMatchObject({ processed: 1, duplicates: 1 });
  });
});
