/**
 * What a node reads from Redis before it delivers a lifecycle event (issue 15): the keyed records
 * of the orchestrator and of the governors the event's route calls (SPEC §4), one command per
 * entity whatever the number of its keys; none of the governors the event never reaches. Watched
 * with MONITOR on a private Redis: the commands themselves, not a timing.
 */
import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import type { Outcome } from '../../machines/orchestrator.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { privateRedisForFile } from '../support/private-redis.ts';
import { monitorRedis } from '../support/redis-monitor.ts';
import { startMarketplaceNode } from '../support/marketplace-node.ts';

const db = privateRedisForFile();
const PARTITIONS = 2;
const KINDS = ['Orchestrator', 'Entitlement', 'Billing', 'ProductCatalog', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'MultiTenant', 'Receipts'];

/** Client commands (not a script's) that read a records hash, by the kind whose hash it is. */
async function recordReads(keys: RedisKeys, customerId: string, run: () => Promise<void>): Promise<Map<string, string[][]>> {
  const kindOf = new Map(KINDS.map((entity) => [keys.records({ entity, key: customerId }), entity]));
  const reads = new Map<string, string[][]>();
  const marker = `end-of-run-${Math.random()}`;
  let markerSeen!: () => void;
  const seen = new Promise<void>((resolve) => (markerSeen = resolve));
  const monitor = await monitorRedis(db.redis.url, ({ source, args }) => {
    if (args[0] === 'echo' && args[1] === marker) markerSeen();
    const command = args[0]!.toLowerCase();
    const kind = kindOf.get(args[1] ?? '');
    if (source === 'lua' || kind === undefined || !['hget', 'hmget', 'hgetall', 'hexists'].includes(command)) return;
    reads.set(kind, [...(reads.get(kind) ?? []), [...args]]);
  });
  try {
    await run();
    // MONITOR shows commands in the order Redis ran them: once the marker shows, every read has.
    await db.client.echo(marker);
    await seen;
    return reads;
  } finally {
    monitor.stop();
  }
}

describe('records read before a lifecycle event is delivered', () => {
  it('are the orchestrator’s and those of the governors on the event’s route, one command per entity', async () => {
    const prefix = db.prefix('reads');
    const keys = new RedisKeys(prefix, { partitions: PARTITIONS });
    const node = await startMarketplaceNode(db.redis.url, prefix, 'reads', { partitions: PARTITIONS, pseudonymKey: 'record-reads-pseudonym-key' });
    const customerId = 'c1';
    const at = (hours: number) => new Date(Date.UTC(2026, 0, 1) + hours * 3_600_000).toISOString();
    const call = (event: Record<string, unknown>) =>
      node.node.call<Outcome>({ entity: 'Orchestrator', key: customerId }, { type: 'lifecycle', event: { customerId, ...event } as unknown as LifecycleEvent, receivedAt: Date.now() }, { timeout: 30_000 });
    try {
      expect(await call({ eventId: 'sub', occurredAt: at(0), type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' })).toMatchObject({ status: 'completed' });

      // SPEC §4: PaymentProcessed goes to Billing, Entitlement and CustomerAccount; Billing also
      // reads the payment's record (payment:<id>), with its event id's, in the same command.
      let outcome: Outcome | undefined;
      const payment = await recordReads(keys, customerId, async () => {
        outcome = await call({ eventId: 'pay-1', occurredAt: at(1), type: 'PaymentProcessed', amount: '99.00', currency: 'USD', paymentId: 'p-1' });
      });
      // Decided (Billing may refuse a payment nothing is due for): delivered, not dead-lettered.
      expect(['completed', 'rejected']).toContain(outcome?.status);
      expect([...payment.keys()].sort()).toEqual(['Billing', 'CustomerAccount', 'Entitlement', 'Orchestrator']);
      for (const [kind, commands] of payment) expect(commands, kind).toHaveLength(1);
      expect(payment.get('Billing')![0]!.slice(2).sort()).toEqual(['pay-1', 'payment:p-1']);

      // UsageExceedsQuota: QuotaSla, Billing, CustomerAccount, Entitlement, MultiTenant.
      const usage = await recordReads(keys, customerId, async () => {
        outcome = await call({ eventId: 'use-1', occurredAt: at(2), type: 'UsageExceedsQuota', resource: 'executions', usage: 120_000, limit: 100_000 });
      });
      expect(['completed', 'rejected']).toContain(outcome?.status);
      expect([...usage.keys()].sort()).toEqual(['Billing', 'CustomerAccount', 'Entitlement', 'MultiTenant', 'Orchestrator', 'QuotaSla']);
      for (const [kind, commands] of usage) expect(commands, kind).toHaveLength(1);
    } finally {
      await node.stop({ timeoutMs: 2_000 });
    }
  });
});
