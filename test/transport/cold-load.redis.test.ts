/**
 * A message to an entity that is not in memory has it read from Redis once, then handled: the
 * partition waits on the load it started rather than starting a second one (which read every
 * cold entity twice: two round trips and two parses, on every node start and after passivation).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EntityAddress } from '../../src/index.ts';
import { GovernorProducer, startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { counter } from '../fixtures/machines.ts';
import { privateRedisForFile } from '../support/private-redis.ts';
import { eventually } from './conformance.ts';

const server = privateRedisForFile();
const started: { node: BullmqNode; producer: GovernorProducer }[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const { node, producer } of started.splice(0)) {
    await node.stop({ timeoutMs: 1_000 });
    await producer.close();
  }
});

async function nodeAndProducer(): Promise<{ node: BullmqNode; producer: GovernorProducer }> {
  const prefix = server.prefix('cl');
  const node = await startBullmqNode({
    url: server.redis.url,
    prefix,
    name: `cold${server.next()}`,
    partitions: 2,
    kinds: [{ kind: 'Counter', machine: counter }],
    logger: pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' }),
  });
  const producer = await GovernorProducer.connect({ url: server.redis.url, prefix, partitions: 2 });
  const pair = { node, producer };
  started.push(pair);
  return pair;
}

/** How many times the store was asked to read `address` (in any batch). */
function readsOf(loadMany: { mock: { calls: unknown[][] } }, address: EntityAddress): number {
  return loadMany.mock.calls.filter(([addresses]) => (addresses as EntityAddress[]).some((a) => a.entity === address.entity && a.key === address.key)).length;
}

/** The committed version of an entity's state, read straight from its hash (not through the store, whose reads are counted). */
async function committedVersion(node: BullmqNode, address: EntityAddress): Promise<string | null> {
  return server.client.hget(node.transport.store.keys.state(address), 'v');
}

describe('a message to an entity not in memory', () => {
  it('reads the entity once, then handles the message', async () => {
    const { node, producer } = await nodeAndProducer();
    const address = { entity: 'Counter', key: 'cold-1' };
    const loadMany = vi.spyOn(RedisStore.prototype, 'loadMany');
    await producer.send(address, { type: 'inc' }, { id: 'c-1' });
    await eventually(async () => expect(await committedVersion(node, address)).toBe('1'));
    expect(readsOf(loadMany, address)).toBe(1);

    // In memory now: the next message reads nothing.
    await producer.send(address, { type: 'inc' }, { id: 'c-2' });
    await eventually(async () => expect(await committedVersion(node, address)).toBe('2'));
    expect(readsOf(loadMany, address)).toBe(1);
  });
});
