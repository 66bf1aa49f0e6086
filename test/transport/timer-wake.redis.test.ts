/**
 * Durable timers on the BullMQ transport: an entity at rest (passivated, or on a partition whose
 * owner left) still has its timers fire when they fall due, without any message, because every
 * commit keeps its earliest deadline in the partition's timer index and the owner wakes it.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock, type EntityAddress, type EntityKind } from '../../src/index.ts';
import { startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { counter, recorder } from '../fixtures/machines.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { eventually } from './conformance.ts';

let redis: RedisHandle;
let client: Redis;
let serial = 0;
let started: BullmqNode[] = [];

beforeAll(async () => {
  redis = await startRedis({ mode: 'private', persistence: 'aof' });
  client = new Redis(redis.url);
});
afterEach(async () => {
  await Promise.all(started.map((node) => node.stop({ timeoutMs: 1_000 })));
  started = [];
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

const KINDS: EntityKind[] = [
  { kind: 'Counter', machine: counter },
  { kind: 'Recorder', machine: recorder },
];

const DAY = 86_400_000;

/** Nodes on one prefix, all on one simulated clock (time moves only when the test says). */
async function cluster(count: number, clock: SimulatedClock): Promise<{ nodes: BullmqNode[]; keys: RedisKeys }> {
  const prefix = `${redis.prefix}:{tw${++serial}}`;
  const nodes: BullmqNode[] = [];
  for (let i = 0; i < count; i++) {
    const node = await startBullmqNode({
      url: redis.url,
      prefix,
      name: `w${i}`,
      kinds: KINDS,
      partitions: 4,
      leaseMs: 2_000,
      heartbeatMs: 150,
      clock,
      logger: pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' }),
    });
    nodes.push(node);
    started.push(node);
  }
  return { nodes, keys: new RedisKeys(prefix) };
}

/** The dings an entity has committed, read from Redis (not from any node's memory). */
async function committedDings(node: BullmqNode, address: EntityAddress): Promise<number | undefined> {
  const stored = await node.transport.store.load(address);
  return (stored?.state.snapshot as { context?: { dings?: number } } | undefined)?.context?.dings;
}

function indexed(keys: RedisKeys, node: BullmqNode, address: EntityAddress): Promise<string | null> {
  return client.zscore(keys.timers(node.transport.partitionOf(address)), keys.timerMember(address));
}

describe('a passivated entity', () => {
  it('has its timer fire when the clock passes it, committed without any message, and leaves the index', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const { nodes, keys } = await cluster(1, clock);
    const a = nodes[0]!;
    const address = { entity: 'Counter', key: 'trial-end' };
    a.node.cast(address, { type: 'arm', ms: 14 * DAY });
    expect(await a.node.call(address, { type: 'get' })).toEqual({ count: 0, dings: 0 });
    await a.transport.settled();
    // The commit put the entity's earliest deadline in its partition's index.
    expect(await indexed(keys, a, address)).toBe(String(1_700_000_000_000 + 14 * DAY));

    expect(await a.transport.passivate(address)).toBe(true);
    expect(a.entities.pidOf(address)).toBeUndefined();

    clock.advance(15 * DAY);
    await eventually(async () => expect(await committedDings(a, address)).toBe(1));
    // No timer left: the entry is gone, in the same commit as the state.
    expect(await indexed(keys, a, address)).toBeNull();
  });

  it('is not woken before its deadline', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const { nodes, keys } = await cluster(1, clock);
    const a = nodes[0]!;
    const address = { entity: 'Counter', key: 'dunning' };
    a.node.cast(address, { type: 'arm', ms: 3 * DAY });
    expect(await a.node.call(address, { type: 'get' })).toEqual({ count: 0, dings: 0 });
    await a.transport.settled();
    await a.transport.passivate(address);

    clock.advance(2 * DAY);
    // Give a wrongly early wake every chance to happen, then check it did not.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(a.entities.pidOf(address)).toBeUndefined();
    expect(await committedDings(a, address)).toBe(0);
    expect(await indexed(keys, a, address)).not.toBeNull();

    clock.advance(DAY);
    await eventually(async () => expect(await committedDings(a, address)).toBe(1));
  });
});

describe('an entity whose partition moves', () => {
  it('has its timer fire on the node that claims the partition after its owner stopped', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const { nodes, keys } = await cluster(2, clock);
    await eventually(() => expect(nodes.map((n) => n.transport.ownedPartitions().length)).toEqual([2, 2]));
    const address = { entity: 'Counter', key: 'grace' };
    const partition = nodes[0]!.transport.partitionOf(address);
    const owner = nodes.find((n) => n.transport.ownedPartitions().includes(partition))!;
    const heir = nodes.find((n) => n !== owner)!;

    owner.node.cast(address, { type: 'arm', ms: 7 * DAY });
    expect(await owner.node.call(address, { type: 'get' })).toEqual({ count: 0, dings: 0 });
    await owner.transport.settled();
    expect(await indexed(keys, owner, address)).not.toBeNull();

    await owner.stop({ timeoutMs: 1_000 });
    started = started.filter((n) => n !== owner);
    await eventually(() => expect(heir.transport.ownedPartitions()).toContain(partition));
    // Claimed, but nothing brought the entity here: no message comes.
    expect(heir.entities.pidOf(address)).toBeUndefined();

    clock.advance(8 * DAY);
    await eventually(async () => expect(await committedDings(heir, address)).toBe(1));
    expect(heir.entities.pidOf(address)).toBeDefined();
    expect(await indexed(keys, heir, address)).toBeNull();
  });

  it('has a timer that fell due while nobody held the partition fire as soon as it is claimed', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const { nodes } = await cluster(1, clock);
    const a = nodes[0]!;
    const address = { entity: 'Counter', key: 'lapse' };
    a.node.cast(address, { type: 'arm', ms: DAY });
    expect(await a.node.call(address, { type: 'get' })).toEqual({ count: 0, dings: 0 });
    await a.transport.settled();
    const prefixKeys = a.transport.keys;
    await a.stop({ timeoutMs: 1_000 });
    started = [];

    clock.advance(2 * DAY); // nobody running: nothing can fire now
    const b = (
      await startBullmqNode({
        url: redis.url,
        prefix: prefixKeys.prefix,
        name: 'late',
        kinds: KINDS,
        partitions: 4,
        leaseMs: 2_000,
        heartbeatMs: 150,
        clock,
        logger: pino({ level: 'silent' }),
      })
    );
    started.push(b);
    await eventually(async () => expect(await committedDings(b, address)).toBe(1));
  });
});

describe('a timer index written by someone else', () => {
  it('drops members that name no entity, and entities with nothing stored, and still wakes the due one among them', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const { nodes, keys } = await cluster(1, clock);
    const a = nodes[0]!;
    const address = { entity: 'Counter', key: 'among-junk' };
    a.node.cast(address, { type: 'arm', ms: DAY });
    expect(await a.node.call(address, { type: 'get' })).toEqual({ count: 0, dings: 0 });
    await a.transport.settled();
    await a.transport.passivate(address);
    const index = keys.timers(a.transport.partitionOf(address));
    // A hostile or buggy writer: members no commit would write, and an entity never stored, all due first.
    const partition = a.transport.partitionOf(address);
    const key = (i = 0): string => (a.transport.partitionOf({ entity: 'Counter', key: `ghost-${i}` }) === partition ? `ghost-${i}` : key(i + 1));
    const other = (i = 0): string => (a.transport.partitionOf({ entity: 'Counter', key: `stray-${i}` }) !== partition ? `stray-${i}` : other(i + 1));
    const ghost = { entity: 'Counter', key: key() };
    const stray = keys.timerMember({ entity: 'Counter', key: other() });
    await client.zadd(index, 1, 'no-colon-here', 2, ':empty-kind', 3, 'Counter:%E0%A4%A', 4, keys.timerMember(ghost), 5, stray);

    clock.advance(2 * DAY);
    await eventually(async () => expect(await committedDings(a, address)).toBe(1));
    await eventually(async () => expect(await client.zrange(index, 0, -1)).toEqual([]));
    // The ghost was not started fresh to fire a timer nobody armed.
    expect(await a.transport.store.load(ghost)).toBeUndefined();
  });
});
