import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { EntityAddress } from '../../src/index.ts';
import { startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { transportConformance, type ConformanceHarness } from './conformance.ts';

let redis: RedisHandle;
let serial = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

/** Nodes on one Redis, each test under a prefix of its own (with a hash tag, as on a cluster). */
function bullmqHarness(placement: 'sharded' | 'distributed'): ConformanceHarness {
  const nodes: BullmqNode[] = [];
  const prefix = `${redis.prefix}:{c${++serial}}`;
  return {
    async start(count, kinds) {
      for (let i = 0; i < count; i++) {
        nodes.push(
          await startBullmqNode({
            url: redis.url,
            prefix,
            name: `n${i}`,
            kinds,
            partitions: 4,
            placement,
            leaseMs: 3_000,
            heartbeatMs: 200,
            logger: pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' }),
          }),
        );
      }
      return nodes;
    },
    async passivate(address: EntityAddress) {
      for (const { transport } of nodes) await transport.passivate(address);
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop({ timeoutMs: 2_000 })));
    },
  };
}

transportConformance('bullmq, sharded', () => bullmqHarness('sharded'));
transportConformance('bullmq, distributed', () => bullmqHarness('distributed'));
