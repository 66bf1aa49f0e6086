/**
 * A partition queue is shared by many entities, and BullMQ drops an add whose job id the queue
 * still holds. Message ids are unique per target only (each customer picks its own; a message
 * sent on while handling "m1" is "m1/1"), so job ids are scoped by target: two customers using
 * the same id never lose a message to each other, neither from a producer nor through the relay.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EntityKind } from '../../src/index.ts';
import { GovernorProducer, startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { recorder } from '../fixtures/machines.ts';
import { eventually } from '../transport/conformance.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';

let redis: RedisHandle;
let node: BullmqNode | undefined;
let producer: GovernorProducer | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await producer?.close();
  await node?.stop({ timeoutMs: 1_000 });
  await redis?.stop();
});

it('distributed placement: messages sent on by two customers handling the same message id both arrive', async () => {
  const prefix = `${redis.prefix}:{ids}`;
  const kinds: EntityKind[] = [{ kind: 'Recorder', machine: recorder }];
  const settings = { url: redis.url, prefix, partitions: 6, placement: 'distributed' as const };
  node = await startBullmqNode({ ...settings, name: 'ids', kinds, leaseMs: 2_000, heartbeatMs: 150, logger: pino({ level: 'silent' }) });
  producer = await GovernorProducer.connect(settings);
  await eventually(() => expect(node!.transport.ownedPartitions()).toHaveLength(6));

  // Two destinations in one partition queue: the ids their senders give them are both "m1/1".
  const destinations = Array.from({ length: 60 }, (_, i) => ({ entity: 'Recorder', key: `dst-${i}` }));
  const first = destinations[0]!;
  const second = destinations.slice(1).find((d) => producer!.queueOf(d) === producer!.queueOf(first))!;
  await producer.sendMany([
    { to: { entity: 'Recorder', key: 'src-a' }, event: { type: 'send', to: first, n: 0, count: 1 }, id: 'm1' },
    { to: { entity: 'Recorder', key: 'src-b' }, event: { type: 'send', to: second, n: 0, count: 1 }, id: 'm1' },
  ]);
  for (const destination of [first, second]) {
    await eventually(async () => expect(await node!.node.call(destination, { type: 'get' })).toMatchObject({ seen: [0] }), 10_000);
  }
}, 60_000);
