/**
 * The transport conformance suite on a real 3-master Redis Cluster: the same promises as on one
 * Redis, with every partition's keys in its own slot (`{p.<partition>}`), so the nodes' scripts,
 * pipelines and BullMQ's own scripts each stay in one slot (a cross-slot one fails with CROSSSLOT).
 */
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { EntityAddress } from '../../src/index.ts';
import { startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.ts';
import { transportConformance, type ConformanceHarness } from '../transport/conformance.ts';

let cluster: RedisClusterHandle;
let serial = 0;

beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

function clusterHarness(placement: 'sharded' | 'distributed'): ConformanceHarness {
  const nodes: BullmqNode[] = [];
  const prefix = `${cluster.prefix}c${++serial}`;
  return {
    async start(count, kinds) {
      for (let i = 0; i < count; i++) {
        nodes.push(
          await startBullmqNode({
            url: cluster.url,
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

transportConformance('bullmq on a Redis Cluster, sharded', () => clusterHarness('sharded'));
transportConformance('bullmq on a Redis Cluster, distributed', () => clusterHarness('distributed'));
