/**
 * Passivation under memory pressure on a BullMQ node: with a heap budget below what the node
 * uses, idle entities leave memory least recently used first (counted and logged), and every one
 * of them comes back from Redis with its whole state on its next message: nothing is lost.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityKind } from '../../src/index.ts';
import { startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { counter } from '../fixtures/machines.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { eventually } from './conformance.ts';

let redis: RedisHandle;

beforeAll(async () => {
  redis = await startRedis({ mode: 'private', persistence: 'aof' });
});
afterAll(async () => {
  await redis.stop();
});

const KINDS: EntityKind[] = [{ kind: 'Counter', machine: counter }];
const ENTITIES = 40;

async function node(heapBudgetMb: number, lines: unknown[]): Promise<BullmqNode> {
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return startBullmqNode({ url: redis.url, prefix: `${redis.prefix}:{hb${heapBudgetMb}}`, name: 'budget', kinds: KINDS, partitions: 4, heapBudgetMb, logger });
}

describe('a node over its heap budget', () => {
  it('passivates idle entities, counts and logs it, and each comes back with its state; no increment is lost', async () => {
    const lines: { msg?: string; passivated?: number; heapBudgetMb?: number }[] = [];
    // 1 MiB: any node's heap is over it, so every check passivates.
    const n = await node(1, lines);
    try {
      const keys = Array.from({ length: ENTITIES }, (_, i) => ({ entity: 'Counter', key: `c${i}` }));
      for (const address of keys) {
        n.node.cast(address, { type: 'inc' });
        n.node.cast(address, { type: 'inc' });
      }
      for (const address of keys) expect(await n.node.call(address, { type: 'get' })).toEqual({ count: 2, dings: 0 });

      await eventually(() => expect(n.transport.passivations().memory).toBeGreaterThanOrEqual(ENTITIES));
      expect(n.transport.residentEntities).toBeLessThan(ENTITIES);
      const logged = lines.filter((line) => line.msg?.startsWith('heap over its budget'));
      expect(logged.length).toBeGreaterThan(0);
      expect(logged[0]).toMatchObject({ heapBudgetMb: 1 });
      expect(logged.reduce((sum, line) => sum + (line.passivated ?? 0), 0)).toBe(n.transport.passivations().memory);

      // Back from Redis on the next message, with what they had, and the new increment on top.
      for (const address of keys) n.node.cast(address, { type: 'inc' });
      for (const address of keys) expect(await n.node.call(address, { type: 'get' })).toEqual({ count: 3, dings: 0 });
      for (const address of keys) {
        const stored = await n.transport.store.load(address);
        expect((stored?.state.snapshot as { context: { count: number } }).context.count).toBe(3);
      }
    } finally {
      await n.stop({ timeoutMs: 1_000 });
    }
  });

  it('leaves its entities in memory while the heap is within the budget', async () => {
    const lines: { msg?: string }[] = [];
    const n = await node(1_000_000, lines);
    try {
      const keys = Array.from({ length: 10 }, (_, i) => ({ entity: 'Counter', key: `k${i}` }));
      for (const address of keys) n.node.cast(address, { type: 'inc' });
      for (const address of keys) expect(await n.node.call(address, { type: 'get' })).toEqual({ count: 1, dings: 0 });
      // Two checks' time.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(n.transport.passivations()).toEqual({ idle: 0, memory: 0 });
      expect(n.transport.residentEntities).toBe(10);
      expect(lines.some((line) => line.msg?.startsWith('heap over its budget'))).toBe(false);
    } finally {
      await n.stop({ timeoutMs: 1_000 });
    }
  });
});
