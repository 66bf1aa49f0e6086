/**
 * A claimed partition whose start fails: the node keeps its lease and tries again, with backoff,
 * until it runs. Before, the node dropped it and let the lease lapse; it claimed it again at the
 * next beat (the others take only their fair share), so a start that failed for good on this node
 * (a BullMQ Queue stuck after a Redis outage) left the partition unconsumed for good.
 *
 * The failure is injected deterministically: the queue's meta key holds a string, so
 * `setGlobalConcurrency(1)` (part of every start) fails with WRONGTYPE until the key is deleted.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer, startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { ledger } from '../fixtures/machines.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { expectExactlyOnceInOrder, sleep } from './ledger-stream.ts';

let redis: RedisHandle;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await redis.stop();
});

/** A node logging into `lines` (JSON), its partitions on short leases. */
async function startNode(prefix: string, lines: string[]): Promise<BullmqNode> {
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const node = await startBullmqNode({ url: redis.url, prefix, name: 'n1', kinds: [{ kind: 'Ledger', machine: ledger }], partitions: 1, leaseMs: 2_000, heartbeatMs: 200, logger });
  cleanups.push(() => node.stop({ timeoutMs: 2_000 }));
  return node;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

it('a partition whose start fails keeps its lease, and runs once the fault is gone', async () => {
  const prefix = `${redis.prefix}-start`;
  const client = redis.client();
  const meta = `${prefix}:${new RedisKeys(prefix, { partitions: 1 }).partitionQueue('0')}:meta`;
  await client.set(meta, 'not a hash'); // every start fails until it is gone
  const lines: string[] = [];
  const { transport } = await startNode(prefix, lines);
  const failures = (): number => lines.filter((line) => line.includes('could not start a claimed partition')).length;

  await until(() => failures() >= 2, 'the start failed twice');
  // Still this node's: nobody else would take it while this node lives.
  expect(transport.ownedPartitions()).toEqual(['0']);
  expect(await client.get(new RedisKeys(prefix, { partitions: 1 }).lease('0'))).toBe('n1');

  await client.del(meta);
  const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: 1 });
  cleanups.push(() => producer.close());
  await producer.sendMany([0, 1, 2].map((seq) => ({ to: { entity: 'Ledger', key: 'key-0' }, event: { type: 'apply', seq }, id: `key-0-${seq}` })));
  await expectExactlyOnceInOrder(client, { prefix, partitions: 1 }, 1, 3, 15_000, () => lines.join(''));
  expect(await client.hget(meta, 'concurrency')).toBe('1');
});
