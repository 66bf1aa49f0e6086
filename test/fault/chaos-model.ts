import { Decimal } from 'decimal.js';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';

/**
 * The chaos run's reference model, written from the rules (SPEC §4, `src/marketplace/README.md`,
 * the seeds' facts in `reference/seed-sources.md` and the governors' documented state diagrams),
 * not from the code it checks: it imports nothing from `machines/` and nothing of the domain
 * library but the event type, so a domain bug is not copied into it. Where it and the governors
 * disagree, one of the two misread the rules, and the run says which customer and field.
 *
 * It folds one customer's events and predicts, per event, `completed` or `rejected` (a duplicate
 * eventId changes nothing), and at the end: the Entitlement, Subscription and Billing states, the
 * balance, the invoices (count and sum of totals, exact decimals) and one receipt per completed
 * event. An event completes when no governor of its route refuses it and the replies show no
 * activation against a delinquent or suspended account (SPEC §4's conflict example).
 *
 * The subset it predicts exactly, and what the chaos workload keeps to:
 * - monthly plans only (COMMUNITY, PRO-MONTHLY, ENT-MONTHLY): a 30-day cycle, no cycle discount;
 * - no state timeouts: they run on the node's clock from when a state was entered, the shortest one
 *   an event can start is an hour (QuotaSla's throttle), and a run lasts minutes. So a trial never
 *   ends (a first paid subscription stays in Trial, where renewals are refused), dunning never
 *   reaches suspension or collections, and nothing lapses or is erased;
 * - no SuspensionLifted and no catalog events (the producer's schema has neither for customers);
 * - no licence keys (the chaos nodes have no signing key: a renewal reissues nothing);
 * - reasons are not compared, only outcomes: which governor refused first is the code's business.
 */

export type Outcome = 'completed' | 'rejected';
export type Tier = 'community' | 'professional' | 'enterprise';
export type EntitlementState = 'Inactive' | 'Active' | 'Grace' | 'Suspended' | 'Cancelled';
export type SubscriptionState = 'None' | 'Trial' | 'Active' | 'Cancelled';
export type BillingState = 'AwaitingInvoice' | 'InvoiceIssued' | 'PaymentFailed';
type AccountState = 'Onboarding' | 'Active' | 'PastDue' | 'Suspended' | 'UnderReview';
type ComplianceState = 'Compliant' | 'UnderAudit' | 'Retaining';
type Metric = 'executions' | 'compute_gb_hours' | 'transfer_gb' | 'api_calls';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** A first paid subscription's trial; the first cycle starts after it (SPEC §4, seeds: 14 d). */
const TRIAL_DAYS = 14;
/** A renewal is accepted from this many days before the cycle ends. */
const RENEWAL_WINDOW_DAYS = 7;
/** The monthly cycle. */
const CYCLE_DAYS = 30;
/** A payment within this of the balance settles it (seeds: "within 0.01 of the invoice"). */
const PAYMENT_TOLERANCE = new Decimal('0.01');

/** Base fee a month and metered usage (SPEC §4 Billing; Enterprise's rates from the domain README). */
const PLANS: Readonly<Record<Tier, { base: string; metered: Partial<Record<Metric, { included: string; rate: string }>> }>> = {
  // Community: hard limits, never billed.
  community: { base: '0', metered: {} },
  professional: {
    base: '99',
    metered: {
      executions: { included: '100000', rate: '0.01' },
      compute_gb_hours: { included: '500', rate: '0.05' },
      transfer_gb: { included: '100', rate: '0.10' },
      api_calls: { included: '0', rate: '0.00001' },
    },
  },
  enterprise: {
    base: '999',
    metered: {
      // Executions unlimited: no line.
      compute_gb_hours: { included: '100000', rate: '0.03' },
      transfer_gb: { included: '10000', rate: '0.05' },
      api_calls: { included: '0', rate: '0.000005' },
    },
  },
};
const RANK: Readonly<Record<Tier, number>> = { community: 0, professional: 1, enterprise: 2 };
const SKU_TIERS: Readonly<Record<string, Tier>> = { COMMUNITY: 'community', 'PRO-MONTHLY': 'professional', 'ENT-MONTHLY': 'enterprise' };

/** The SKU of a tier on the monthly cycle, as the chaos workload spells it. */
export const SKU_OF: Readonly<Record<Tier, string>> = { community: 'COMMUNITY', professional: 'PRO-MONTHLY', enterprise: 'ENT-MONTHLY' };

type Governor = 'Entitlement' | 'Billing' | 'Subscription' | 'CustomerAccount' | 'QuotaSla' | 'Compliance' | 'MultiTenant';
/** SPEC §4's routes (UsageRecorded: QuotaSla then Billing, as the domain README's table has it). */
const ROUTES: Readonly<Record<string, readonly Governor[]>> = {
  CustomerSubscribes: ['Entitlement', 'Billing', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance'],
  CustomerUpgrades: ['Entitlement', 'Billing', 'Subscription', 'QuotaSla'],
  PaymentProcessed: ['Billing', 'Entitlement', 'CustomerAccount'],
  PaymentFailed: ['Billing', 'Entitlement', 'CustomerAccount', 'Compliance'],
  UsageExceedsQuota: ['QuotaSla', 'Billing', 'CustomerAccount', 'Entitlement', 'MultiTenant'],
  CustomerCancels: ['Subscription', 'Entitlement', 'Billing', 'CustomerAccount', 'Compliance'],
  ManualSuspension: ['Entitlement', 'Billing', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'MultiTenant'],
  RenewalDue: ['Subscription', 'Billing', 'Entitlement'],
  UsageRecorded: ['QuotaSla', 'Billing'],
};

const cents = (d: Decimal) => d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);

interface BillingPlan {
  sku: string;
  tier: Tier;
  cycleStart: number;
}

/** Everything the rules need about one customer. */
interface Customer {
  entitlement: { state: EntitlementState; sku: string | null; tier: Tier | null; manualHold: boolean; dunning: boolean };
  subscription: { state: SubscriptionState; id: string | null; plan: BillingPlan | null; trialUsed: boolean };
  billing: {
    state: BillingState;
    plan: BillingPlan | null;
    trialUsed: boolean;
    usage: Partial<Record<Metric, Decimal>>;
    usageKeys: Set<string>;
    invoices: Array<{ id: string; total: Decimal }>;
    balance: Decimal;
    credit: Decimal;
    charges: Decimal[];
    paid: Set<string>;
    failed: Set<string>;
  };
  account: { state: AccountState; hold: 'none' | 'suspended' | 'review'; pastDue: boolean; charges: number[]; activity: number[] };
  quota: { tier: Tier | null; keys: Set<string> };
  compliance: { state: ComplianceState; failures: number[] };
  outcomes: Map<string, Outcome>;
  order: string[];
  receipts: number;
}

/** What the system must end with for one customer (the fields the chaos run reads back). */
export interface CustomerView {
  readonly entitlement: EntitlementState;
  readonly subscription: SubscriptionState;
  readonly billing: BillingState;
  readonly balance: string;
  readonly invoices: number;
  /** Sum of every invoice's total, two decimals. */
  readonly invoiced: string;
  readonly receipts: number;
}

/**
 * A governor's answer: refuse, or a change to make if every governor agrees; `after` is the
 * governor's state once the event is through (its facts, which the conflict rule reads), when it
 * changes.
 */
type Answer = { refuse: string } | { apply?: () => void; after?: string };
const refuse = (why: string): Answer => ({ refuse: why });
const nothing: Answer = {};

function liveAccount(hold: Customer['account']['hold'], pastDue: boolean): AccountState {
  if (hold === 'review') return 'UnderReview';
  if (hold === 'suspended') return 'Suspended';
  return pastDue ? 'PastDue' : 'Active';
}

/**
 * The seeds' fraud score of a charge attempt (reference/seed-sources.md, CustomerAccount):
 * (40·velocity + 30·geo + 20·usage + 10·behaviour)/100, rounded half up; 71 and above is held.
 */
function fraudHeld(charges: readonly number[], at: number, activity: readonly number[]): boolean {
  const window = [...charges.filter((t) => t <= at && at - t < DAY_MS), at].sort((a, b) => a - b);
  let rapid = 0;
  for (let i = 1; i < window.length; i++) if (window[i]! - window[i - 1]! < 60_000) rapid++;
  const velocity = Math.min(window.length, 50) * 2;
  const inHours = activity.filter((t) => new Date(t).getUTCHours() >= 9 && new Date(t).getUTCHours() < 17).length;
  const usage = activity.length >= 5 && inHours / activity.length < 0.3 ? 80 : 0;
  const score = Math.min(100, Math.floor((40 * velocity + 20 * usage + 10 * Math.min(rapid, 100) + 50) / 100));
  return score > 70;
}

const LIVE_ENTITLEMENT: readonly EntitlementState[] = ['Active', 'Grace', 'Suspended'];
const entitlementLive = (c: Customer) => LIVE_ENTITLEMENT.includes(c.entitlement.state);
const accountLive = (c: Customer) => c.account.state !== 'Onboarding';
const billingGood = (c: Customer) => c.billing.state !== 'PaymentFailed';
const dueAt = (plan: BillingPlan) => plan.cycleStart + (CYCLE_DAYS - RENEWAL_WINDOW_DAYS) * DAY_MS;
const tierOf = (sku: unknown): Tier | undefined => (typeof sku === 'string' && Object.hasOwn(SKU_TIERS, sku) ? SKU_TIERS[sku] : undefined);
const startCycle = (at: number, trial: boolean) => at + (trial ? TRIAL_DAYS * DAY_MS : 0);

/** The invoice of a renewal: base fee, overage lines and charges, each rounded once; credit against it. */
function invoiceOf(b: Customer['billing'], tier: Tier): { total: Decimal; credit: Decimal } {
  const plan = PLANS[tier];
  let subtotal = cents(new Decimal(plan.base));
  for (const [metric, meter] of Object.entries(plan.metered) as Array<[Metric, { included: string; rate: string }]>) {
    const over = (b.usage[metric] ?? new Decimal(0)).minus(meter.included);
    if (over.gt(0)) subtotal = subtotal.plus(cents(over.times(meter.rate)));
  }
  for (const charge of b.charges) subtotal = subtotal.plus(charge);
  const applied = Decimal.min(b.credit, subtotal);
  return { total: subtotal.minus(applied), credit: b.credit.minus(applied) };
}

/** Each governor's rule for each event type it is routed, in the order of {@link ROUTES}. */
function answers(c: Customer, event: LifecycleEvent): Answer[] {
  const at = Date.parse(event.occurredAt);
  const e = event as LifecycleEvent & Record<string, unknown>;
  const ent = c.entitlement;
  const sub = c.subscription;
  const bill = c.billing;
  const acct = c.account;
  switch (event.type) {
    case 'CustomerSubscribes': {
      const tier = tierOf(e['sku']);
      if (!tier || tier !== e['tier']) return [refuse('unknown or inconsistent SKU')];
      const sku = e['sku'] as string;
      const trialFor = (used: boolean) => tier !== 'community' && !used;
      return [
        ent.state === 'Suspended' || entitlementLive(c)
          ? refuse('already entitled, or suspended')
          : { after: 'Active', apply: () => Object.assign(ent, { state: 'Active', sku, tier, manualHold: false, dunning: false }) },
        !billingGood(c) || bill.plan
          ? refuse('payment overdue, or already billing a plan')
          : { apply: () => Object.assign(bill, { plan: { sku, tier, cycleStart: startCycle(at, trialFor(bill.trialUsed)) }, trialUsed: bill.trialUsed || trialFor(bill.trialUsed) }) },
        sub.state === 'Trial' || sub.state === 'Active'
          ? refuse('already subscribed')
          : {
              apply: () => {
                const trial = trialFor(sub.trialUsed);
                // Within the reactivation window (always, here) a cancelled subscription comes back under its id.
                Object.assign(sub, { state: trial ? 'Trial' : 'Active', id: sub.state === 'Cancelled' ? sub.id : event.eventId, plan: { sku, tier, cycleStart: startCycle(at, trial) }, trialUsed: sub.trialUsed || trial });
              },
            },
        acct.state === 'Onboarding' ? { after: 'Active', apply: () => Object.assign(acct, { state: 'Active', hold: 'none', pastDue: false }) } : acct.state === 'Active' ? nothing : refuse('account not in good standing'),
        { apply: () => void (c.quota.tier = tier) },
        c.compliance.state === 'UnderAudit' ? refuse('audit open') : { apply: () => void (c.compliance.state = 'Compliant') },
      ];
    }
    case 'CustomerUpgrades': {
      const from = tierOf(e['fromSku']);
      const to = tierOf(e['toSku']);
      if (!from || !to) return [refuse('unknown SKU')];
      const toSku = e['toSku'] as string;
      const entitlement: Answer =
        ent.state !== 'Active' || ent.sku !== e['fromSku'] || from === to ? refuse('no active entitlement to change, stale plan or same tier') : { after: 'Active', apply: () => Object.assign(ent, { sku: toSku, tier: to }) };
      let billing: Answer;
      if (!bill.plan || !billingGood(c) || bill.plan.sku !== e['fromSku']) billing = refuse('no plan, overdue, or stale plan');
      else if (at < bill.plan.cycleStart) billing = { apply: () => Object.assign(bill.plan!, { sku: toSku, tier: to }) };
      else {
        // Proration (domain README): daily rate = base / 30; days left count today; rounded once.
        const elapsed = Math.floor((at - bill.plan.cycleStart) / DAY_MS);
        if (elapsed >= CYCLE_DAYS) billing = refuse('outside the cycle');
        else {
          const amount = cents(new Decimal(PLANS[to].base).minus(PLANS[from].base).abs().div(30).times(CYCLE_DAYS - elapsed));
          billing = {
            apply: () => {
              Object.assign(bill.plan!, { sku: toSku, tier: to });
              if (RANK[to] > RANK[from]) bill.charges.push(amount);
              else bill.credit = bill.credit.plus(amount);
            },
          };
        }
      }
      const subscription: Answer =
        (sub.state !== 'Trial' && sub.state !== 'Active') || sub.plan?.sku !== e['fromSku'] || from === to ? refuse('no subscription to change') : { apply: () => Object.assign(sub.plan!, { sku: toSku, tier: to }) };
      const quota: Answer = c.quota.tier !== from ? refuse('limits of another tier') : { apply: () => void (c.quota.tier = to) };
      return [entitlement, billing, subscription, quota];
    }
    case 'PaymentProcessed': {
      const id = e['paymentId'] as string;
      const amount = new Decimal(e['amount'] as string);
      const billing: Answer =
        bill.paid.has(id) || bill.balance.lte(0) || amount.minus(bill.balance).abs().gt(PAYMENT_TOLERANCE)
          ? refuse('duplicate payment, nothing due, or amount mismatch')
          : { after: 'AwaitingInvoice', apply: () => Object.assign(bill, { state: 'AwaitingInvoice', balance: new Decimal(0), paid: new Set([...bill.paid, id]), failed: new Set() }) };
      const entitlement: Answer = !entitlementLive(c) || !ent.dunning ? nothing : { after: ent.manualHold ? 'Suspended' : 'Active', apply: () => Object.assign(ent, { dunning: false, state: ent.manualHold ? 'Suspended' : 'Active' }) };
      return [billing, entitlement, charge(c, at, false)];
    }
    case 'PaymentFailed': {
      const id = e['paymentId'] as string;
      const billing: Answer =
        bill.paid.has(id) || bill.failed.has(id) || bill.balance.lte(0)
          ? refuse('paid already, failure recorded already, or nothing due')
          : { after: 'PaymentFailed', apply: () => Object.assign(bill, { failed: new Set([...bill.failed, id]), state: 'PaymentFailed' }) };
      const entitlement: Answer = !entitlementLive(c) || ent.dunning ? nothing : { after: ent.manualHold ? 'Suspended' : 'Grace', apply: () => Object.assign(ent, { dunning: true, state: ent.manualHold ? 'Suspended' : 'Grace' }) };
      // AML (Compliance governor's doc): five failed payments within 24 h open an audit.
      const failures = [...c.compliance.failures.filter((t) => at - t < DAY_MS), at].slice(-10);
      const compliance: Answer = {
        apply: () => {
          c.compliance.failures = failures;
          if (failures.length >= 5 && c.compliance.state !== 'UnderAudit') c.compliance.state = 'UnderAudit';
        },
      };
      return [billing, entitlement, charge(c, at, true), compliance];
    }
    case 'UsageRecorded': {
      const key = e['idempotencyKey'] as string;
      const metric = e['metric'] as Metric;
      const quantity = new Decimal(String(e['quantity']));
      const quota: Answer = !c.quota.tier ? refuse('no plan') : c.quota.keys.has(key) ? nothing : { apply: () => void c.quota.keys.add(key) };
      const billing: Answer = !bill.plan
        ? refuse('no subscription to bill')
        : bill.usageKeys.has(key)
          ? nothing
          : {
              apply: () => {
                bill.usageKeys.add(key);
                bill.usage[metric] = (bill.usage[metric] ?? new Decimal(0)).plus(quantity);
              },
            };
      return [quota, billing];
    }
    case 'UsageExceedsQuota': {
      const exceeds = typeof e['usage'] === 'number' && typeof e['limit'] === 'number' && e['usage'] > e['limit'];
      const quota: Answer = !c.quota.tier || !exceeds ? refuse('no plan, or within the limit') : nothing;
      const account: Answer = accountLive(c) ? { apply: () => void (acct.activity = [...acct.activity, at].slice(-50)) } : nothing;
      return [quota, nothing, account, nothing, exceeds ? nothing : refuse('within the limit')];
    }
    case 'CustomerCancels':
      return [
        sub.state !== 'Trial' && sub.state !== 'Active' ? refuse('no subscription to cancel') : { apply: () => void (sub.state = 'Cancelled') },
        entitlementLive(c) ? { after: 'Cancelled', apply: () => Object.assign(ent, { state: 'Cancelled', manualHold: false, dunning: false }) } : nothing,
        bill.plan ? { apply: () => void (bill.plan = null) } : nothing,
        nothing,
        // An open audit is a legal hold: no retention clock starts.
        c.compliance.state === 'Compliant' ? { apply: () => void (c.compliance.state = 'Retaining') } : nothing,
      ];
    case 'ManualSuspension': {
      const hold = /review|fraud|investigat/i.test(String(e['reason'])) ? 'review' : 'suspended';
      return [
        entitlementLive(c) && !ent.manualHold ? { after: 'Suspended', apply: () => Object.assign(ent, { manualHold: true, state: 'Suspended' }) } : nothing,
        nothing,
        nothing,
        acct.hold === hold ? nothing : { after: liveAccount(hold, acct.pastDue), apply: () => Object.assign(acct, { hold, state: liveAccount(hold, acct.pastDue) }) },
        nothing,
        c.compliance.state === 'UnderAudit' ? nothing : { apply: () => void (c.compliance.state = 'UnderAudit') },
        nothing,
      ];
    }
    case 'RenewalDue': {
      const subscription: Answer =
        sub.state !== 'Active' || !sub.plan || e['subscriptionId'] !== sub.id || at < dueAt(sub.plan)
          ? refuse('in trial, no active subscription, unknown id, or not due')
          : { apply: () => void (sub.plan!.cycleStart += CYCLE_DAYS * DAY_MS) };
      let billing: Answer = refuse('no plan, or not due');
      if (bill.plan && at >= dueAt(bill.plan)) {
        const plan = bill.plan;
        billing = {
          apply: () => {
            const invoice = invoiceOf(bill, plan.tier);
            bill.invoices.push({ id: `inv-${bill.invoices.length + 1}`, total: invoice.total });
            bill.balance = bill.balance.plus(invoice.total);
            bill.credit = invoice.credit;
            bill.charges = [];
            bill.usage = {};
            plan.cycleStart += CYCLE_DAYS * DAY_MS;
            if (bill.state === 'AwaitingInvoice' && invoice.total.gt(0)) bill.state = 'InvoiceIssued';
          },
        };
      }
      const entitlement: Answer = ent.state === 'Grace' ? nothing : ent.state !== 'Active' ? refuse('suspended or no entitlement') : nothing;
      return [subscription, billing, entitlement];
    }
    default:
      return [refuse(`the chaos model does not know ${event.type}`)];
  }
}

/** CustomerAccount: a charge attempt on an open account is scored, and held in the top bands. */
function charge(c: Customer, at: number, failed: boolean): Answer {
  const acct = c.account;
  if (!accountLive(c)) return nothing;
  if (fraudHeld(acct.charges, at, acct.activity)) return refuse('fraud score');
  return {
    after: liveAccount(acct.hold, failed),
    apply: () => {
      acct.charges = [...acct.charges.filter((t) => at - t < DAY_MS), at].slice(-50);
      acct.pastDue = failed;
      acct.state = liveAccount(acct.hold, acct.pastDue);
    },
  };
}

function newCustomer(): Customer {
  return {
    entitlement: { state: 'Inactive', sku: null, tier: null, manualHold: false, dunning: false },
    subscription: { state: 'None', id: null, plan: null, trialUsed: false },
    billing: { state: 'AwaitingInvoice', plan: null, trialUsed: false, usage: {}, usageKeys: new Set(), invoices: [], balance: new Decimal(0), credit: new Decimal(0), charges: [], paid: new Set(), failed: new Set() },
    account: { state: 'Onboarding', hold: 'none', pastDue: false, charges: [], activity: [] },
    quota: { tier: null, keys: new Set() },
    compliance: { state: 'Compliant', failures: [] },
    outcomes: new Map(),
    order: [],
    receipts: 0,
  };
}

/** The chaos run's reference model: many customers, each folded by the rules above. */
export class RulesModel {
  readonly #customers = new Map<string, Customer>();

  #customer(id: string): Customer {
    let c = this.#customers.get(id);
    if (!c) this.#customers.set(id, (c = newCustomer()));
    return c;
  }

  /** One event, decided as the rules say; a repeated eventId is a `duplicate` and changes nothing. */
  submit(event: LifecycleEvent): Outcome | 'duplicate' {
    const c = this.#customer(event.customerId);
    if (c.outcomes.has(event.eventId)) return 'duplicate';
    const replies = answers(c, event);
    const refused = replies.some((r) => 'refuse' in r);
    // SPEC §4's conflict: an entitlement active after the event while Billing says delinquent or
    // the account is suspended, among the governors of the event's route, each as the event leaves it.
    const route = ROUTES[event.type] ?? [];
    const after = (governor: Governor, now: string) => {
      const i = route.indexOf(governor);
      if (i < 0) return undefined;
      const answer = replies[i];
      return answer && 'after' in answer && answer.after !== undefined ? answer.after : now;
    };
    const billing = after('Billing', c.billing.state);
    const account = after('CustomerAccount', c.account.state);
    const conflict =
      after('Entitlement', c.entitlement.state) === 'Active' && (billing === 'PaymentFailed' || account === 'Suspended' || account === 'UnderReview');
    const outcome: Outcome = refused || conflict ? 'rejected' : 'completed';
    if (outcome === 'completed') {
      for (const r of replies) if ('apply' in r) r.apply?.();
      c.receipts++;
    }
    c.outcomes.set(event.eventId, outcome);
    c.order.push(event.eventId);
    return outcome;
  }

  /** What the rules say the customer's committed state is now. */
  view(customerId: string): CustomerView {
    const c = this.#customer(customerId);
    const invoiced = c.billing.invoices.reduce((sum, i) => sum.plus(i.total), new Decimal(0));
    return {
      entitlement: c.entitlement.state,
      subscription: c.subscription.state,
      billing: c.billing.state,
      balance: c.billing.balance.toFixed(2),
      invoices: c.billing.invoices.length,
      invoiced: invoiced.toFixed(2),
      receipts: c.receipts,
    };
  }

  /** Each decided event's outcome, in the order decided. */
  outcomes(customerId: string): Array<{ eventId: string; outcome: Outcome }> {
    const c = this.#customer(customerId);
    return c.order.map((eventId) => ({ eventId, outcome: c.outcomes.get(eventId)! }));
  }

  /** For the workload: what a producer would know about the customer now (amount due, plan, subscription id, next renewal). */
  facts(customerId: string): { balance: string; sku: string | null; tier: Tier | null; subscriptionId: string | null; renewalDueAt: number | null; paid: readonly string[] } {
    const c = this.#customer(customerId);
    return {
      balance: c.billing.balance.toFixed(2),
      sku: c.entitlement.sku,
      tier: c.entitlement.tier,
      subscriptionId: c.subscription.id,
      renewalDueAt: c.subscription.plan && c.subscription.state === 'Active' ? dueAt(c.subscription.plan) : null,
      paid: [...c.billing.paid],
    };
  }
}

/** The fields of `observed` that differ from `expected`, as `field: observed ≠ expected` lines. */
export function viewDifferences(expected: CustomerView, observed: CustomerView): string[] {
  const out: string[] = [];
  for (const field of Object.keys(expected) as Array<keyof CustomerView>) {
    if (expected[field] !== observed[field]) out.push(`${field}: ${String(observed[field])}, the rules say ${String(expected[field])}`);
  }
  return out;
}

/** An hour: the node refuses an occurredAt further ahead of its clock than this. */
export const FUTURE_LIMIT_MS = HOUR_MS;
