/**
 * Tenant isolation on Redis: many customers share a partition queue, and event ids are chosen by
 * each customer's producer. One customer's event must never be taken for another's, whatever ids
 * they pick: not by BullMQ's job-id deduplication in the shared queue, not by a dead letter,
 * and not through Redis keys, however the customer ids are crafted to collide.
 */
import { Queue } from 'bullmq';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent as MachineEvent } from '../../machines/governor-protocol.ts';
import { bullmqTarget } from '../../src/cli/check/bullmq-target.ts';
import { START } from '../../src/cli/check/marketplace.ts';
import type { ActorState } from '../../src/cli/check/target.ts';
import { enqueueEvents, messageIdOf } from '../../src/cli/enqueue/producer.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { isSafeId } from '../../src/marketplace/ids.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { CRAFTED_CUSTOMER_IDS, customerIdArbitrary, tenantEventFields } from '../fixtures/hostile/tenants.ts';

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const event = (customerId: string, eventId: string): LifecycleEvent =>
  ({ type: 'CustomerCancels', eventId, customerId, occurredAt: '2026-01-01T00:00:00Z', reason: 'r' }) as LifecycleEvent;

describe('customers sharing a partition queue', () => {
  it('two customers may use the same eventId: both events are enqueued, neither is a duplicate of the other', async () => {
    const prefix = `${redis.prefix}:{same-event-id}`;
    // One partition: every customer shares the queue, as many do in production.
    const target = { url: redis.url, prefix, partitions: 1, batch: 10 };
    const events = [event('cust-a', 'evt-1'), event('cust-b', 'evt-1'), event('cust-a:b', 'c'), event('cust-a', 'b:c')];
    await enqueueEvents(target, events);
    const producer = await GovernorProducer.connect({ url: redis.url, prefix, partitions: 1 });
    const queue = new Queue(producer.queueOf({ entity: 'Orchestrator', key: 'cust-a' }), { connection: redis.client(), prefix });
    try {
      const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
      const delivered = jobs.map((job) => {
        const lifecycle = (job.data as { env: { event: { event: LifecycleEvent } } }).env.event.event;
        return `${lifecycle.customerId} ${lifecycle.eventId}`;
      });
      expect(delivered.sort()).toEqual(events.map((e) => `${e.customerId} ${e.eventId}`).sort());
    } finally {
      await queue.close();
      await producer.close();
    }
  });

  it('message ids are injective in (customer, event), short enough for the job format, and valid BullMQ job ids', () => {
    const pairs: Array<[string, string]> = [['a', 'b.c'], ['a.b', 'c'], ['a:b', 'c'], ['a', 'b:c'], ['a-b', 'c'], ['a', 'b-c'], ['a:', 'b']];
    const ids = pairs.map(([customerId, eventId]) => messageIdOf({ customerId, eventId }));
    expect(new Set(ids).size).toBe(new Set(pairs.map((p) => JSON.stringify(p))).size);
    const safeId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/).filter((s) => s !== 'constructor' && s !== 'prototype');
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(safeId, safeId), { minLength: 2, maxLength: 20, selector: (p) => JSON.stringify(p) }), (pairs) => {
        const ids = pairs.map(([customerId, eventId]) => messageIdOf({ customerId, eventId }));
        expect(new Set(ids).size).toBe(pairs.length);
        for (const id of ids) {
          expect(id).not.toContain(':');
          expect(id.length).toBeLessThanOrEqual(512);
        }
      }),
      { numRuns: 300 },
    );
    // Outside its domain it is a caller bug, not a silent collision.
    expect(() => messageIdOf({ customerId: 'a/b', eventId: 'c' })).toThrow(TypeError);
  });
});

describe('the marketplace on a BullMQ node, with crafted customer ids', () => {
  let run = 0;
  it("one customer's events leave every other customer's states in Redis unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Always a few of the crafted colliders, plus random ones.
        fc.shuffledSubarray([...CRAFTED_CUSTOMER_IDS], { minLength: 3, maxLength: 5 }),
        fc.uniqueArray(customerIdArbitrary, { maxLength: 2 }),
        fc.array(fc.tuple(fc.nat(), tenantEventFields), { minLength: 3, maxLength: 6 }),
        async (crafted, random, steps) => {
          const customers = [...new Set([...crafted, ...random])];
          const target = await bullmqTarget({ url: redis.url, prefix: `${redis.prefix}:{tenants-${++run}}`, start: START, pseudonymKey: 'tenant-isolation-key', partitions: 2 });
          try {
            const read = async (): Promise<Map<string, Map<string, ActorState>>> => new Map(await Promise.all(customers.map(async (c) => [c, await target.states(c)] as const)));
            let before = await read();
            let serial = 0;
            for (const [pick, fields] of steps) {
              const owner = customers[pick % customers.length]!;
              // The same eventIds for every customer: they must not meet either.
              const submitted = target.submit({ eventId: `e-${++serial}`, customerId: owner, occurredAt: new Date(target.clock.now()).toISOString(), ...fields } as MachineEvent);
              if (!isSafeId(owner)) {
                // Not a customer id an event may carry: the node refuses it at the orchestrator's
                // door (the caller hears why) and nothing is written, for anyone.
                await expect(submitted).rejects.toThrow(/invalid_message.*customerId/);
                expect(await read()).toEqual(before);
                continue;
              }
              await submitted;
              const after = await read();
              for (const other of customers) {
                if (other !== owner) expect(after.get(other), `${String(fields['type'])} of ${JSON.stringify(owner)} changed ${JSON.stringify(other)}`).toEqual(before.get(other));
              }
              expect(after.get(owner)!.has('Orchestrator'), 'the event reached its orchestrator in Redis').toBe(true);
              before = after;
            }
          } finally {
            await target.stop();
          }
        },
      ),
      { numRuns: Number(process.env.GOVERNOR_BULLMQ_RUNS ?? 4) },
    );
  }, 180_000);
});
