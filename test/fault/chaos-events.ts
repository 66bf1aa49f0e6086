import { governorDefinitions } from '../../machines/index.ts';
import type { BillingData } from '../../machines/governors/billing.ts';
import { MarketplaceModel } from '../../src/cli/check/reference-model.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { parseLifecycleEvent } from '../../src/marketplace/event-validation.ts';

/**
 * The chaos run's workload and its expected outcome: a seeded random sequence of lifecycle events
 * (all eight SPEC §4 types, usage, and producers' retries of recent events) over many customers,
 * folded through the pure reference model while it is made. Each event is made from the model's
 * state at that point (a payment pays what is due, a renewal names the subscription), so the
 * sequence is one a real producer could send, and the model's end state is what every node's
 * committed state must equal, whatever dies on the way.
 */
export interface ChaosWorkload {
  /** In send order; one customer's events keep their order, and a retry repeats an earlier event. */
  readonly sequence: readonly LifecycleEvent[];
  /** Distinct event ids: the events the fleet must finish. */
  readonly eventIds: ReadonlySet<string>;
  readonly model: MarketplaceModel;
  readonly customers: readonly string[];
}

/** mulberry32: small, seeded, good enough to pick events (and the chaos run's victims). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Fields = Record<string, unknown> & { type: string };
type Make = (model: MarketplaceModel, customerId: string, n: number) => Fields;

const billing = (model: MarketplaceModel, customerId: string) => model.context(customerId, 'Billing')?.data as BillingData | undefined;

/** What a customer may do next, with weights: subscriptions and payments often, suspension rarely. */
const MAKERS: readonly [number, Make][] = [
  [4, () => ({ type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' })],
  [1, () => ({ type: 'CustomerSubscribes', sku: 'ENT-ANNUAL', tier: 'enterprise' })],
  [2, () => ({ type: 'CustomerUpgrades', fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' })],
  [3, (m, c, n) => ({ type: 'PaymentProcessed', amount: billing(m, c)?.balance && billing(m, c)!.balance !== '0.00' ? billing(m, c)!.balance : '12.34', currency: 'USD', paymentId: `pay-${n}` })],
  [2, (_m, _c, n) => ({ type: 'PaymentFailed', reason: 'card declined', paymentId: `fail-${n}` })],
  [3, (_m, _c, n) => ({ type: 'UsageRecorded', metric: 'executions', quantity: 900, idempotencyKey: `use-${n}` })],
  [2, () => ({ type: 'UsageExceedsQuota', resource: 'executions', usage: 120_000, limit: 100_000 })],
  [3, (m, c) => ({ type: 'RenewalDue', subscriptionId: (m.context(c, 'Subscription')?.data as { subscriptionId?: string | null } | undefined)?.subscriptionId ?? 'sub-unknown' })],
  [1, () => ({ type: 'CustomerCancels', reason: 'moving on' })],
  [1, () => ({ type: 'ManualSuspension', reason: 'fraud review', actor: 'ops.chaos' })],
];
const TOTAL_WEIGHT = MAKERS.reduce((sum, [weight]) => sum + weight, 0);
/** One event in this many is a producer's retry of one of the customer's last three. */
const RETRY_EVERY = 12;

export function chaosWorkload(options: { events: number; customers: number; seed: number; run: string; now?: number }): ChaosWorkload {
  const next = seededRandom(options.seed);
  const model = new MarketplaceModel(governorDefinitions());
  const now = options.now ?? Date.now();
  const customers = Array.from({ length: options.customers }, (_, i) => `${options.run}-c${i}`);
  const sent = new Map<string, LifecycleEvent[]>();
  const sequence: LifecycleEvent[] = [];
  const eventIds = new Set<string>();
  for (let n = 0; n < options.events; n++) {
    const customerId = customers[Math.floor(next() * customers.length)]!;
    const history = sent.get(customerId) ?? [];
    let event: LifecycleEvent;
    if (history.length > 0 && next() < 1 / RETRY_EVERY) {
      event = history[Math.max(0, history.length - 1 - Math.floor(next() * 3))]!;
    } else {
      // Every customer starts by subscribing, as a real one does.
      let pick = history.length === 0 ? 0 : next() * TOTAL_WEIGHT;
      const make = MAKERS.find(([weight]) => (pick -= weight) < 0)?.[1] ?? MAKERS[0]![1];
      const checked = parseLifecycleEvent({
        eventId: `${options.run}-e${n}`,
        customerId,
        occurredAt: new Date(now + n).toISOString(),
        ...make(model, customerId, n),
      });
      if (!checked.ok) throw new Error(`the chaos run's own event is invalid: ${JSON.stringify(checked.issues)}`);
      event = checked.event;
      history.push(event);
      sent.set(customerId, history);
      eventIds.add(event.eventId);
    }
    model.submit(event, now);
    sequence.push(event);
  }
  return { sequence, eventIds, model, customers };
}
