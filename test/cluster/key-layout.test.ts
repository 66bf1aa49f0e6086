/**
 * Layout 2 of the key names (RedisKeys): what a script or a transaction touches together shares
 * one Redis Cluster hash slot, and partitions get slots of their own. Slots computed as Redis does
 * (CRC16 of the hash tag, `test/support/key-slot.ts`).
 */
import { describe, expect, it } from 'vitest';
import type { EntityAddress } from '../../src/runtime/entity.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { KeyPartitions } from '../../src/store/key-partitions.ts';
import { keySlot as slotOf } from '../support/key-slot.ts';

const HOSTILE_KEYS = ['c1', '{p.0}', '}{', '{', '}', 'a}b{c', '{g}', 'x:y', '%7B', '🙂', ' ', 'customer/{42}'];

function partitionKeys(keys: RedisKeys, partition: string, entities: readonly EntityAddress[]): string[] {
  return [
    keys.lease(partition),
    keys.outbox(partition),
    keys.timers(partition),
    keys.partitionEpoch(partition),
    keys.queueKey(keys.partitionQueue(partition), 'wait'),
    keys.jobLock(keys.partitionQueue(partition), 'job-1'),
    ...entities.flatMap((address) => [keys.state(address), keys.journal(address), keys.handled(address), keys.records(address)]),
  ];
}

describe('the key layout on Redis Cluster', () => {
  it('computes slots as Redis does (its specification’s examples)', () => {
    expect(slotOf('123456789')).toBe(0x31c3 % 16_384);
    expect(slotOf('foo')).toBe(12_182);
    expect(slotOf('{user1000}.following')).toBe(slotOf('user1000'));
    expect(slotOf('foo{}{bar}')).not.toBe(slotOf('bar')); // an empty first tag: the whole key
    expect(slotOf('foo{{bar}}zap')).toBe(slotOf('{bar'));
  });

  it.each(['sharded', 'distributed'] as const)('%s: every key a commit touches is in its partition’s slot, hostile entity keys included', (placement) => {
    const keys = new RedisKeys('governor', { partitions: 8, placement });
    const partitions = new KeyPartitions(8, placement);
    const byPartition = new Map<string, EntityAddress[]>();
    for (const key of HOSTILE_KEYS) {
      for (const entity of ['Billing', 'Receipts']) {
        const address = { entity, key };
        const partition = partitions.partitionOf(address);
        expect(keys.partitionOf(address)).toBe(partition);
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), address]);
      }
    }
    for (const [partition, entities] of byPartition) {
      const slots = new Set(partitionKeys(keys, partition, entities).map((key) => slotOf(key)));
      expect(slots, `partition ${partition}`).toEqual(new Set([slotOf(`{p.${partition}}`)]));
    }
  });

  it('spreads the 16 default partitions over the three slot ranges of a 3-master cluster, none with more than 1.5x its share', () => {
    const keys = new RedisKeys('governor');
    const perShard = [0, 0, 0];
    for (let p = 0; p < 16; p++) {
      const slot = slotOf(keys.lease(String(p)));
      perShard[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2]! += 1;
    }
    expect(Math.max(...perShard)).toBeLessThanOrEqual(Math.floor((16 / 3) * 1.5));
    expect(Math.min(...perShard)).toBeGreaterThan(0);
  });

  it('keeps what the fleet-wide scripts touch together in one slot, apart from the partitions', () => {
    const keys = new RedisKeys('governor');
    const fleet = [keys.nodes, keys.nodeInfo, keys.names, keys.nodeNames('n1'), keys.epoch, keys.adminRequests('n1'), keys.telemetryStream];
    expect(new Set(fleet.map((key) => slotOf(key))).size).toBe(1);
    // A tenant's three rate-limit keys go together, whatever the customer id holds.
    for (const customer of HOSTILE_KEYS) {
      expect(new Set([keys.tenantRate(customer), keys.tenantAttempts(customer), keys.tenantThrottleReported(customer)].map((key) => slotOf(key))).size).toBe(1);
    }
    // A node's inbox and the dead letters are queues of their own slot, whatever the node name holds.
    for (const node of ['n1', 'a}b', '{x', 'host:1']) {
      const queue = keys.nodeQueue(node);
      expect(slotOf(keys.queueKey(queue, 'wait'))).toBe(slotOf(keys.queueKey(queue, 'meta')));
      expect(queue).not.toContain(':');
    }
  });

  it('finds an entity’s state by SCAN pattern and reads back its key, and no other', () => {
    const keys = new RedisKeys('governor');
    for (const key of HOSTILE_KEYS) {
      const stateKey = keys.state({ entity: 'Receipts', key });
      expect(stateKey.startsWith(keys.statePattern('Receipts').split('{p.*}')[0]!.replaceAll('\\', ''))).toBe(true);
      expect(keys.stateKeyOf('Receipts', stateKey)).toBe(key);
      expect(keys.stateKeyOf('Billing', stateKey)).toBeUndefined();
    }
    // A key in the wrong partition's tag is not one of ours.
    const wrong = keys.state({ entity: 'Receipts', key: 'c1' }).replace(/\{p\.\d+\}/, '{p.999}');
    expect(keys.stateKeyOf('Receipts', wrong)).toBeUndefined();
    expect(keys.leasePartitionOf(keys.lease('7'))).toBe('7');
    expect(keys.leasePartitionOf(`${keys.lease('7')}x`)).toBeUndefined();
  });

  it('refuses a prefix with an empty hash tag, which would split a partition over slots', () => {
    expect(() => new RedisKeys('gov{}')).toThrow(/empty hash tag/);
    expect(() => new RedisKeys('')).toThrow(/must not be empty/);
  });

  it('keeps a prefix’s own hash tag working: every key in its one slot (one shard, as layout 1)', () => {
    const keys = new RedisKeys('{legacy}');
    const all = [...partitionKeys(keys, '3', [{ entity: 'Billing', key: 'c1' }]), keys.nodes, keys.epoch, keys.lease('0')];
    expect(new Set(all.map((key) => slotOf(key))).size).toBe(1);
  });
});
