import { parseLifecycleEvent } from '../src/marketplace/event-validation.ts';
import type { LifecycleEvent } from '../src/marketplace/event-schema.ts';

/**
 * The lifecycle benchmark's workload: every customer lives through the same script (all eight
 * SPEC §4 types, in an order a real customer could produce), one step per round, all customers in
 * each round, so a thousand customers are in flight at once while each one's events stay in order.
 * Every `DUPLICATE_EVERY`-th event is sent twice (a producer's retry), which the orchestrator must
 * report as a duplicate. After cancelling, the customer subscribes again and the script restarts.
 */
const SCRIPT: readonly [string, Record<string, unknown>][] = [
  ['CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' }],
  ['UsageExceedsQuota', { resource: 'executions', usage: 120_000, limit: 100_000 }],
  ['RenewalDue', { subscriptionId: 'sub-1' }],
  ['PaymentFailed', { reason: 'card declined', paymentId: 'fail' }],
  ['PaymentProcessed', { amount: '99.00', currency: 'USD', paymentId: 'pay' }],
  ['CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }],
  ['ManualSuspension', { reason: 'fraud review', actor: 'ops.bench' }],
  ['CustomerCancels', { reason: 'moving on' }],
];
const DUPLICATE_EVERY = 20;

/**
 * `rounds` rounds over `customers` customers, starting at script step `firstRound` (so a later
 * phase continues where an earlier one stopped). Each event is checked by the same validator as
 * `governor enqueue`: the benchmark sends only what a producer could.
 */
export function lifecycleRounds(run: string, customers: number, firstRound: number, rounds: number): LifecycleEvent[] {
  const events: LifecycleEvent[] = [];
  let serial = 0;
  for (let round = firstRound; round < firstRound + rounds; round++) {
    const [type, fields] = SCRIPT[round % SCRIPT.length]!;
    for (let c = 0; c < customers; c++) {
      const customerId = `customer-${c}`;
      const paymentIds = 'paymentId' in fields ? { paymentId: `${fields['paymentId']}-${round}` } : {};
      const checked = parseLifecycleEvent({
        eventId: `${run}-${round}-${c}`,
        customerId,
        occurredAt: new Date(Date.UTC(2026, 0, 1) + round * 3_600_000).toISOString(),
        type,
        ...fields,
        ...paymentIds,
      });
      if (!checked.ok) throw new Error(`the benchmark's own event is invalid: ${JSON.stringify(checked.issues)}`);
      events.push(checked.event);
      if (++serial % DUPLICATE_EVERY === 0) events.push(checked.event);
    }
  }
  return events;
}
