/**
 * `hibernation.afterCommit` on a BullMQ node: an entity its job's commit leaves at rest (no timer
 * due within `afterMs`) drops its snapshot once the commit is in, as on the embedded node, rather
 * than at the sweep 10 s later; its next message restores it from the committed state.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EntityAddress, EntityKind } from '../../src/index.ts';
import { GovernorProducer, startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { marketplaceKinds } from '../../machines/index.ts';
import { parseLifecycleEvent } from '../../src/marketplace/event-validation.ts';
import { counter } from '../fixtures/machines.ts';
import { privateRedisForFile } from '../support/private-redis.ts';
import { eventually } from './conformance.ts';

const server = privateRedisForFile();
const started: { node: BullmqNode; producer: GovernorProducer }[] = [];

afterEach(async () => {
  for (const { node, producer } of started.splice(0)) {
    await node.stop({ timeoutMs: 1_000 });
    await producer.close();
  }
});

async function nodeAndProducer(afterCommit: boolean, kinds: readonly EntityKind[] = [{ kind: 'Counter', machine: counter }]): Promise<{ node: BullmqNode; producer: GovernorProducer }> {
  const prefix = server.prefix('hc');
  const node = await startBullmqNode({
    url: server.redis.url,
    prefix,
    name: `hc${server.next()}`,
    partitions: 1,
    kinds,
    // A sweep far away: only the commit can hibernate anything within a test.
    entityHost: { hibernation: { afterCommit, afterMs: 60_000 } },
    logger: pino({ level: process.env['GOVERNOR_TEST_LOG'] ?? 'silent' }),
  });
  const producer = await GovernorProducer.connect({ url: server.redis.url, prefix, partitions: 1 });
  const pair = { node, producer };
  started.push(pair);
  return pair;
}

/** The count an entity has committed, read from Redis (not from the node's memory). */
async function committedCount(node: BullmqNode, address: EntityAddress): Promise<number | undefined> {
  const stored = await node.transport.store.load(address);
  return (stored?.state.snapshot as { context?: { count?: number } } | undefined)?.context?.count;
}

/**
 * Waits until the node has `address`'s commit in: one partition runs its jobs one at a time, each
 * once the previous commit's answer is in, so a later job's commit in Redis means it was.
 */
async function committedHere(node: BullmqNode, producer: GovernorProducer, id: string): Promise<void> {
  const sentinel = { entity: 'Counter', key: `after-${id}` };
  await producer.send(sentinel, { type: 'inc' }, { id: `sentinel-${id}` });
  await eventually(async () => expect(await committedCount(node, sentinel)).toBe(1));
}

describe('an entity its job commit leaves at rest (afterCommit on a BullMQ node)', () => {
  it('hibernates once the commit is in, and its next message runs from the committed state', async () => {
    const { node, producer } = await nodeAndProducer(true);
    const address = { entity: 'Counter', key: 'c-1' };
    await producer.send(address, { type: 'inc' }, { id: 'm-1' });
    await eventually(() => expect(node.entities.processOf(address)?.hibernated).toBe(true));
    expect(await committedCount(node, address)).toBe(1);

    await producer.send(address, { type: 'inc' }, { id: 'm-2' });
    await eventually(async () => expect(await committedCount(node, address)).toBe(2));
    await eventually(() => expect(node.entities.processOf(address)?.hibernated).toBe(true));
    expect(node.entities.hibernatedCount()).toBe(1);
    // A call wakes it from its committed state: both increments are there.
    expect(await node.node.call(address, { type: 'get' })).toEqual({ count: 2, dings: 0 });
  });

  it('stays awake while a timer of it falls due within afterMs', async () => {
    const { node, producer } = await nodeAndProducer(true);
    const soon = { entity: 'Counter', key: 'soon' };
    const later = { entity: 'Counter', key: 'later' };
    await producer.send(soon, { type: 'arm', ms: 30_000 }, { id: 'a-1' });
    await producer.send(later, { type: 'arm', ms: 3_600_000 }, { id: 'a-2' });
    await committedHere(node, producer, 'a-2');
    expect(node.entities.processOf(later)?.hibernated).toBe(true);
    expect(node.entities.processOf(soon)?.hibernated).toBe(false);
  });

  it('stays awake without afterCommit until the sweep', async () => {
    const { node, producer } = await nodeAndProducer(false);
    const address = { entity: 'Counter', key: 'c-2' };
    await producer.send(address, { type: 'inc' }, { id: 'm-3' });
    await committedHere(node, producer, 'm-3');
    expect(await committedCount(node, address)).toBe(1);
    expect(node.entities.processOf(address)?.hibernated).toBe(false);
    expect(node.entities.hibernatedCount()).toBe(0);
  });
});

describe("a marketplace customer's actors on a BullMQ node (afterCommit)", () => {
  /** A lifecycle event for the customer's orchestrator, checked as `governor enqueue` does. */
  function lifecycle(eventId: string, fields: Record<string, unknown>) {
    const checked = parseLifecycleEvent({ eventId, customerId: 'cust-1', occurredAt: '2026-01-01T00:00:00Z', ...fields });
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    return { type: 'lifecycle', event: checked.event, receivedAt: 0 };
  }

  async function processed(node: BullmqNode): Promise<number | undefined> {
    const stored = await node.transport.store.load({ entity: 'Orchestrator', key: 'cust-1' });
    return (stored?.state.snapshot as { context?: { stats?: { processed: number } } } | undefined)?.context?.stats?.processed;
  }

  it('are all hibernated after its event, and its next event completes from their committed states', async () => {
    const { node, producer } = await nodeAndProducer(true, marketplaceKinds({ pseudonymKey: 'hibernate-after-commit-test-key' }));
    const orchestrator = { entity: 'Orchestrator', key: 'cust-1' };
    const resident = () => node.node.registered().filter((name) => name.startsWith('entity:')).length;
    await producer.send(orchestrator, lifecycle('ev-1', { type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' }), { id: 'ev.cust-1/ev-1' });
    await eventually(async () => expect(await processed(node)).toBe(1));
    await eventually(() => expect(node.entities.hibernatedCount()).toBe(resident()));
    expect(resident()).toBeGreaterThan(2);

    await producer.send(orchestrator, lifecycle('ev-2', { type: 'CustomerUpgrades', fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }), { id: 'ev.cust-1/ev-2' });
    await eventually(async () => expect(await processed(node)).toBe(2));
    await eventually(() => expect(node.entities.hibernatedCount()).toBe(resident()));
  });
});
