import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { parseLifecycleEvent } from '../../src/marketplace/event-validation.ts';
import { RulesModel, SKU_OF, type Tier } from './chaos-model.ts';

/**
 * The chaos run's workload: a seeded random sequence of lifecycle events (all eight SPEC §4 types,
 * usage, and producers' retries of recent events) over many customers. Each event is made from
 * what a producer would know at that point, read from the rules model (`chaos-model.ts`) folded
 * as the sequence is made: a payment pays what is due (now and then a wrong amount, a reused
 * payment id, or nothing due), an upgrade names the current plan (now and then a stale one), a
 * renewal names the subscription and mostly comes when it is due. So most events complete, and
 * the refusals are the rules at work, not noise.
 *
 * Each customer lives on a clock of its own, starting two years back and moving on by hours to
 * days per event (renewals jump to their window), so cycles run out, invoices are issued with base
 * fees, overage, proration charges and credits, and payments settle them, within minutes of real
 * time. Plans are monthly (the model's subset); a third of customers start on Community (no trial),
 * the others on a paid plan, with the tier's 14-day trial unless they decline it. Every business
 * deadline these events start is long past on the nodes' clocks, so each fires as soon as its
 * state is entered (trials end, dunning runs to collections, windows close): see the model's
 * "Time".
 */
export interface ChaosWorkload {
  /** In send order; one customer's events keep their order, and a retry repeats an earlier event. */
  readonly sequence: readonly LifecycleEvent[];
  /** Distinct event ids: the events the fleet must finish. */
  readonly eventIds: ReadonlySet<string>;
  /** Each event by id. */
  readonly byId: ReadonlyMap<string, LifecycleEvent>;
  /** The rules model folded over the sequence in send order. */
  readonly model: RulesModel;
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

const DAY_MS = 86_400_000;
const TIERS: readonly Tier[] = ['community', 'professional', 'enterprise'];
type Fields = Record<string, unknown> & { type: string };
type Make = (model: RulesModel, customerId: string, n: number, pick: () => number) => Fields;
/** Whether an event of the kind would do anything now; a pointless one is mostly picked again. */
type Useful = (model: RulesModel, customerId: string) => boolean;
const always: Useful = () => true;
const somethingDue: Useful = (m, c) => m.facts(c).balance !== '0.00';

const METRICS = [
  ['executions', 5_000, 60_000],
  ['compute_gb_hours', 20, 400],
  ['transfer_gb', 5, 80],
  ['api_calls', 10_000, 3_000_000],
] as const;

/** What a customer may do next, with weights. */
const MAKERS: readonly [number, Make, Useful?][] = [
  // One in four declines the trial (`trial: false`): the first cycle starts at once.
  [3, (_m, _c, _n, r) => { const tier = TIERS[Math.floor(r() * 3)]!; return { type: 'CustomerSubscribes', sku: SKU_OF[tier], tier, ...(r() < 0.25 ? { trial: false } : {}) }; }],
  [3, (m, c, _n, r) => {
    const facts = m.facts(c);
    const from = facts.tier ?? 'community';
    const to = TIERS.filter((t) => t !== from)[Math.floor(r() * 2)]!;
    // One in six names a plan the customer is not on (a producer's stale view).
    return { type: 'CustomerUpgrades', fromSku: r() < 1 / 6 ? SKU_OF[to] : (facts.sku ?? SKU_OF[from]), toSku: SKU_OF[to] };
  }],
  [5, (m, c, n, r) => {
    const { balance, paid } = m.facts(c);
    const roll = r();
    if (balance === '0.00' || roll < 0.1) return { type: 'PaymentProcessed', amount: '12.34', currency: 'USD', paymentId: `pay-${n}` };
    if (roll < 0.15 && paid.length > 0) return { type: 'PaymentProcessed', amount: balance, currency: 'USD', paymentId: paid[paid.length - 1] };
    // Within the tolerance (0.01), or outside it.
    const amount = roll < 0.25 ? (Number(balance) + 0.01).toFixed(2) : roll < 0.3 ? (Number(balance) + 5).toFixed(2) : balance;
    return { type: 'PaymentProcessed', amount, currency: 'USD', paymentId: `pay-${n}` };
  }, somethingDue],
  [2, (_m, _c, n) => ({ type: 'PaymentFailed', reason: 'card declined', paymentId: `fail-${n}` }), somethingDue],
  [5, (_m, _c, n, r) => {
    const [metric, low, high] = METRICS[Math.floor(r() * METRICS.length)]!;
    return { type: 'UsageRecorded', metric, quantity: Math.floor(low + r() * (high - low)), idempotencyKey: `use-${n}` };
  }],
  [2, (_m, _c, _n, r) => ({ type: 'UsageExceedsQuota', resource: 'executions', usage: r() < 0.2 ? 90_000 : 120_000, limit: 100_000 })],
  [5, (m, c, _n, r) => ({ type: 'RenewalDue', subscriptionId: r() < 0.1 ? 'sub-unknown' : (m.facts(c).subscriptionId ?? 'sub-unknown') }), (m, c) => m.facts(c).renewalDueAt !== null],
  [3, () => ({ type: 'CustomerCancels', reason: 'moving on' })],
  [0.5, (_m, _c, _n, r) => ({ type: 'ManualSuspension', reason: r() < 0.5 ? 'fraud review' : 'chargeback hold', actor: 'ops.chaos' })],
];
const TOTAL_WEIGHT = MAKERS.reduce((sum, [weight]) => sum + weight, 0);
/** One event in this many is a producer's retry of one of the customer's last three. */
const RETRY_EVERY = 12;

export function chaosWorkload(options: { events: number; customers: number; seed: number; run: string; now?: number }): ChaosWorkload {
  const next = seededRandom(options.seed);
  const model = new RulesModel();
  const now = options.now ?? Date.now();
  const customers = Array.from({ length: options.customers }, (_, i) => `${options.run}-c${i}`);
  const clocks = new Map(customers.map((c) => [c, now - 730 * DAY_MS + Math.floor(next() * 30 * DAY_MS)]));
  const latest = now - DAY_MS;
  const sent = new Map<string, LifecycleEvent[]>();
  const sequence: LifecycleEvent[] = [];
  const byId = new Map<string, LifecycleEvent>();
  for (let n = 0; n < options.events; n++) {
    const customerId = customers[Math.floor(next() * customers.length)]!;
    const history = sent.get(customerId) ?? [];
    let event: LifecycleEvent;
    if (history.length > 0 && next() < 1 / RETRY_EVERY) {
      event = history[Math.max(0, history.length - 1 - Math.floor(next() * 3))]!;
    } else {
      let index = -1;
      for (let tries = 0; tries < 3; tries++) {
        let pick = next() * TOTAL_WEIGHT;
        index = MAKERS.findIndex(([weight]) => (pick -= weight) < 0);
        if ((MAKERS[index]?.[2] ?? always)(model, customerId) || next() < 0.2) break;
      }
      // Every customer starts by subscribing, as a real one does; a third on Community.
      const fields = history.length === 0 ? { type: 'CustomerSubscribes', ...(next() < 1 / 3 ? { sku: 'COMMUNITY', tier: 'community' } : { sku: 'PRO-MONTHLY', tier: 'professional' }) } : MAKERS[index < 0 ? 0 : index]![1](model, customerId, n, next);
      let at = clocks.get(customerId)! + Math.floor(next() * 3 * DAY_MS) + 60_000;
      const due = model.facts(customerId).renewalDueAt;
      if (fields.type === 'RenewalDue' && due !== null && at < due && next() < 0.8) at = due + Math.floor(next() * 2 * DAY_MS);
      at = Math.min(at, latest);
      clocks.set(customerId, at);
      const checked = parseLifecycleEvent({ eventId: `${options.run}-e${n}`, customerId, occurredAt: new Date(at).toISOString(), ...fields });
      if (!checked.ok) throw new Error(`the chaos run's own event is invalid: ${JSON.stringify(checked.issues)}`);
      event = checked.event;
      history.push(event);
      sent.set(customerId, history);
      byId.set(event.eventId, event);
    }
    model.submit(event, now);
    sequence.push(event);
  }
  return { sequence, eventIds: new Set(byId.keys()), byId, model, customers };
}
