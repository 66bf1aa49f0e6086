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
 * Time (README "Time"): decisions use the event's `occurredAt`; a business deadline (a trial's end,
 * a dunning step, a grace period, a reactivation window, a retention period) is that business time
 * plus the rule's wait, and fires on the node's clock when the clock passes it — at once for a
 * deadline already past when its state is entered. The workload's events happened months to two
 * years ago, so every deadline they start is past: the model applies each one after the event that
 * enters its state ({@link RulesModel.submit} takes the node clock's `now`, the run's start). The
 * operational waits (QuotaSla's one-hour throttle) run on the node's clock from processing and do
 * not end within a run; Onboarding's wait starts when the account's actor is created, likewise.
 *
 * The subset it predicts exactly, and what the chaos workload keeps to:
 * - monthly plans only (COMMUNITY, PRO-MONTHLY, ENT-MONTHLY): a 30-day cycle, no cycle discount;
 * - the trial of the catalog: Professional and Enterprise 14 days, Community none, offered with a
 *   customer's first paid subscription only (taken or declined), none when it says `trial: false`;
 * - no SuspensionLifted and no catalog events (the producer's schema has neither for customers);
 * - no licence keys (the chaos nodes have no signing key: a renewal reissues nothing);
 * - reasons are not compared, only outcomes: which governor refused first is the code's business.
 */

export type Outcome = 'completed' | 'rejected';
export type Tier = 'community' | 'professional' | 'enterprise';
export type EntitlementState = 'Inactive' | 'Active' | 'Grace' | 'Suspended' | 'Cancelled' | 'Expired' | 'Terminated';
export type SubscriptionState = 'None' | 'Trial' | 'Active' | 'Cancelled' | 'Lapsed' | 'Archived';
export type BillingState = 'AwaitingInvoice' | 'InvoiceIssued' | 'PaymentFailed' | 'Retry1' | 'Retry2' | 'Retry3' | 'Suspended' | 'Collections';
type AccountState = 'Onboarding' | 'Active' | 'PastDue' | 'Suspended' | 'UnderReview' | 'Deactivated' | 'Archived';
type ComplianceState = 'Compliant' | 'UnderAudit' | 'NonCompliant' | 'Retaining' | 'Erased';
type Metric = 'executions' | 'compute_gb_hours' | 'transfer_gb' | 'api_calls';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The catalog's trial per tier (seeds: 14 d for a first paid subscription; Community is free). */
const TRIAL_DAYS: Readonly<Record<Tier, number>> = { community: 0, professional: 14, enterprise: 14 };
/** The dunning schedule (domain README): retries on days 2, 3 and 6, suspension when the 7-day grace ends, collections on day 13. */
const DUNNING: ReadonlyArray<readonly [BillingState, number]> = [['Retry1', 2], ['Retry2', 3], ['Retry3', 6], ['Suspended', 7], ['Collections', 13]];
const GRACE_DAYS = 7;
/** Entitlement: terminated 30 days after suspension; expired 30 days after a cancellation (the reactivation window). */
const ENTITLEMENT_TERMINATES_DAYS = 30;
const REACTIVATION_WINDOW_DAYS = 30;
/** Subscription: a lapsed record is archived a year after the window closes. */
const SUBSCRIPTION_RETENTION_DAYS = 365;
/** CustomerAccount: suspended 30 d or under review 14 d → deactivated; archived 30 d after. */
const ACCOUNT_SUSPENDED_DAYS = 30;
const ACCOUNT_REVIEW_DAYS = 14;
const ACCOUNT_RETENTION_DAYS = 30;
/** Compliance: an audit not closed in 30 d is non-compliant (a hold); data kept 90 d after a cancellation, then erased. */
const REMEDIATION_DAYS = 30;
const COMPLIANCE_RETENTION_DAYS = 90;
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
  /** `since`: the business time each governor's current state was entered (its deadlines count from it). */
  entitlement: { state: EntitlementState; since: number; sku: string | null; tier: Tier | null; manualHold: boolean; dunning: 'none' | 'grace' | 'suspended' };
  subscription: { state: SubscriptionState; since: number; id: string | null; plan: BillingPlan | null; trialUsed: boolean; cancelledAt: number | null };
  billing: {
    state: BillingState;
    failedAt: number | null;
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
  account: { state: AccountState; since: number; hold: 'none' | 'suspended' | 'review'; dunning: 'none' | 'past_due' | 'suspended'; charges: number[]; activity: number[] };
  quota: { tier: Tier | null; keys: Set<string> };
  compliance: { state: ComplianceState; since: number; failures: number[] };
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

function liveAccount(hold: Customer['account']['hold'], dunning: Customer['account']['dunning']): AccountState {
  if (hold === 'review') return 'UnderReview';
  if (hold === 'suspended' || dunning === 'suspended') return 'Suspended';
  return dunning === 'past_due' ? 'PastDue' : 'Active';
}

/** Entitlement's state from its two reasons to be off (a manual hold, dunning). */
function liveEntitlement(e: Customer['entitlement']): EntitlementState {
  if (e.manualHold || e.dunning === 'suspended') return 'Suspended';
  return e.dunning === 'grace' ? 'Grace' : 'Active';
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
const LIVE_ACCOUNT: readonly AccountState[] = ['Active', 'PastDue', 'Suspended', 'UnderReview'];
const accountLive = (c: Customer) => LIVE_ACCOUNT.includes(c.account.state);
const billingGood = (c: Customer) => c.billing.state === 'AwaitingInvoice' || c.billing.state === 'InvoiceIssued';
const dueAt = (plan: BillingPlan) => plan.cycleStart + (CYCLE_DAYS - RENEWAL_WINDOW_DAYS) * DAY_MS;
const tierOf = (sku: unknown): Tier | undefined => (typeof sku === 'string' && Object.hasOwn(SKU_TIERS, sku) ? SKU_TIERS[sku] : undefined);
const startCycle = (at: number, tier: Tier, trial: boolean) => at + (trial ? TRIAL_DAYS[tier] * DAY_MS : 0);
const days = (n: number) => n * DAY_MS;

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
      // The catalog's trial, once per customer, unless the subscriber declines it.
      const trialFor = (used: boolean) => TRIAL_DAYS[tier] > 0 && !used && e['trial'] !== false;
      return [
        ent.state === 'Suspended' || entitlementLive(c)
          ? refuse('already entitled, or suspended')
          : { after: 'Active', apply: () => Object.assign(ent, { state: 'Active', since: at, sku, tier, manualHold: false, dunning: 'none' }) },
        !billingGood(c) || bill.plan
          ? refuse('payment overdue, or already billing a plan')
          : { apply: () => Object.assign(bill, { plan: { sku, tier, cycleStart: startCycle(at, tier, trialFor(bill.trialUsed)) }, trialUsed: bill.trialUsed || TRIAL_DAYS[tier] > 0 }) },
        sub.state === 'Trial' || sub.state === 'Active'
          ? refuse('already subscribed')
          : {
              apply: () => {
                const trial = trialFor(sub.trialUsed);
                // Within the reactivation window (Cancelled) a cancelled subscription comes back under its id.
                Object.assign(sub, { state: trial ? 'Trial' : 'Active', since: at, id: sub.state === 'Cancelled' ? sub.id : event.eventId, plan: { sku, tier, cycleStart: startCycle(at, tier, trial) }, trialUsed: sub.trialUsed || TRIAL_DAYS[tier] > 0, cancelledAt: null });
              },
            },
        acct.state === 'Onboarding' || acct.state === 'Deactivated'
          ? { after: 'Active', apply: () => Object.assign(acct, { state: 'Active', since: at, hold: 'none', dunning: 'none' }) }
          : acct.state === 'Active'
            ? nothing
            : refuse('account not in good standing, or archived'),
        { apply: () => void (c.quota.tier = tier) },
        c.compliance.state === 'UnderAudit'
          ? refuse('audit open')
          : c.compliance.state === 'NonCompliant'
            ? { after: 'NonCompliant' }
            : { apply: () => Object.assign(c.compliance, { state: 'Compliant', since: at }) },
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
          : { after: 'AwaitingInvoice', apply: () => Object.assign(bill, { state: 'AwaitingInvoice', balance: new Decimal(0), paid: new Set([...bill.paid, id]), failed: new Set(), failedAt: null }) };
      const paidUp = { ...ent, dunning: 'none' as const };
      const entitlement: Answer = !entitlementLive(c) || ent.dunning === 'none' ? nothing : { after: liveEntitlement(paidUp), apply: () => enter(ent, liveEntitlement(paidUp), at, { dunning: 'none' }) };
      return [billing, entitlement, charge(c, at, false)];
    }
    case 'PaymentFailed': {
      const id = e['paymentId'] as string;
      const billing: Answer =
        bill.paid.has(id) || bill.failed.has(id) || bill.balance.lte(0)
          ? refuse('paid already, failure recorded already, or nothing due')
          : billingGood(c)
            ? { after: 'PaymentFailed', apply: () => Object.assign(bill, { failed: new Set([...bill.failed, id]), state: 'PaymentFailed', failedAt: at }) }
            : // Already in dunning: the failure is counted, the episode's clock runs on.
              { apply: () => void (bill.failed = new Set([...bill.failed, id])) };
      const inGrace = { ...ent, dunning: 'grace' as const };
      const entitlement: Answer = !entitlementLive(c) || ent.dunning !== 'none' ? nothing : { after: liveEntitlement(inGrace), apply: () => enter(ent, liveEntitlement(inGrace), at, { dunning: 'grace' }) };
      // AML (Compliance governor's doc): five failed payments within 24 h open an audit.
      const failures = [...c.compliance.failures.filter((t) => at - t < DAY_MS), at].slice(-10);
      const compliance: Answer =
        c.compliance.state === 'Erased'
          ? nothing
          : {
              apply: () => {
                c.compliance.failures = failures;
                if (failures.length >= 5 && (c.compliance.state === 'Compliant' || c.compliance.state === 'Retaining')) enter(c.compliance, 'UnderAudit', at);
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
        sub.state !== 'Trial' && sub.state !== 'Active' ? refuse('no subscription to cancel') : { apply: () => enter(sub, 'Cancelled', at, { cancelledAt: at }) },
        entitlementLive(c) ? { after: 'Cancelled', apply: () => enter(ent, 'Cancelled', at, { manualHold: false, dunning: 'none' }) } : nothing,
        bill.plan ? { apply: () => void (bill.plan = null) } : nothing,
        nothing,
        // An open audit is a legal hold: no retention clock starts.
        c.compliance.state === 'Compliant' ? { apply: () => enter(c.compliance, 'Retaining', at) } : nothing,
      ];
    case 'ManualSuspension': {
      const hold = /review|fraud|investigat/i.test(String(e['reason'])) ? 'review' : 'suspended';
      return [
        entitlementLive(c) && !ent.manualHold ? { after: 'Suspended', apply: () => enter(ent, 'Suspended', at, { manualHold: true }) } : nothing,
        nothing,
        nothing,
        (!accountLive(c) && acct.state !== 'Onboarding') || acct.hold === hold
          ? nothing
          : { after: liveAccount(hold, acct.dunning), apply: () => enter(acct, liveAccount(hold, acct.dunning), at, { hold }) },
        nothing,
        c.compliance.state === 'Compliant' || c.compliance.state === 'Retaining' ? { apply: () => enter(c.compliance, 'UnderAudit', at) } : nothing,
        nothing,
      ];
    }
    case 'RenewalDue': {
      const subscription: Answer =
        sub.state !== 'Active' || !sub.plan || e['subscriptionId'] !== sub.id || at < dueAt(sub.plan)
          ? refuse('in trial, no active subscription, unknown id, or not due')
          : { apply: () => void (sub.plan!.cycleStart += CYCLE_DAYS * DAY_MS) };
      let billing: Answer = refuse('no plan, not due, or suspended for non-payment');
      if (bill.plan && at >= dueAt(bill.plan) && bill.state !== 'Suspended' && bill.state !== 'Collections') {
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
  const dunning = !failed ? 'none' : acct.dunning === 'none' ? 'past_due' : acct.dunning;
  return {
    after: liveAccount(acct.hold, dunning),
    apply: () => {
      acct.charges = [...acct.charges.filter((t) => at - t < DAY_MS), at].slice(-50);
      enter(acct, liveAccount(acct.hold, dunning), at, { dunning });
    },
  };
}

/** A governor moves to `state` at business time `at` (staying keeps the time it was entered); `fields` change with it. */
function enter<T extends { state: string; since: number }>(governor: T, state: T['state'], at: number, fields: Partial<T> = {}): void {
  if (governor.state !== state) governor.since = at;
  Object.assign(governor, fields);
  governor.state = state;
}

/**
 * Every business deadline at or before `now` on the node's clock fires, in order: each governor's
 * timed states (the diagrams of the governors' docs), from the business time its state was
 * entered; the next state is entered at the deadline.
 */
function settle(c: Customer, now: number): void {
  const sub = c.subscription;
  for (;;) {
    let deadline: number | null = null;
    if (sub.state === 'Trial' && sub.plan) deadline = sub.plan.cycleStart;
    else if (sub.state === 'Cancelled' && sub.cancelledAt !== null) deadline = sub.cancelledAt + days(REACTIVATION_WINDOW_DAYS);
    else if (sub.state === 'Lapsed' && sub.cancelledAt !== null) deadline = sub.cancelledAt + days(REACTIVATION_WINDOW_DAYS + SUBSCRIPTION_RETENTION_DAYS);
    if (deadline === null || deadline > now) break;
    if (sub.state === 'Trial') enter(sub, 'Active', deadline);
    else if (sub.state === 'Cancelled') enter(sub, 'Lapsed', deadline);
    // Archived: only what the next subscription needs is kept (the trial is used).
    else enter(sub, 'Archived', deadline, { id: null, plan: null, cancelledAt: null });
  }
  const bill = c.billing;
  for (const [state, day] of DUNNING) {
    const before = DUNNING[DUNNING.findIndex(([s]) => s === state) - 1]?.[0] ?? 'PaymentFailed';
    if (bill.state === before && bill.failedAt !== null && bill.failedAt + days(day) <= now) bill.state = state;
  }
  const ent = c.entitlement;
  for (;;) {
    const wait = ent.state === 'Grace' ? GRACE_DAYS : ent.state === 'Suspended' ? ENTITLEMENT_TERMINATES_DAYS : ent.state === 'Cancelled' ? REACTIVATION_WINDOW_DAYS : null;
    if (wait === null || ent.since + days(wait) > now) break;
    const at = ent.since + days(wait);
    if (ent.state === 'Grace') enter(ent, 'Suspended', at, { dunning: 'suspended' });
    else if (ent.state === 'Suspended') enter(ent, 'Terminated', at, { manualHold: false, dunning: 'none' });
    else enter(ent, 'Expired', at, { sku: null, tier: null });
  }
  const acct = c.account;
  for (;;) {
    const wait =
      acct.state === 'PastDue' ? GRACE_DAYS : acct.state === 'Suspended' ? ACCOUNT_SUSPENDED_DAYS : acct.state === 'UnderReview' ? ACCOUNT_REVIEW_DAYS : acct.state === 'Deactivated' ? ACCOUNT_RETENTION_DAYS : null;
    if (wait === null || acct.since + days(wait) > now) break;
    const at = acct.since + days(wait);
    if (acct.state === 'PastDue') enter(acct, 'Suspended', at, { dunning: 'suspended' });
    else if (acct.state === 'Suspended' || acct.state === 'UnderReview') enter(acct, 'Deactivated', at);
    // Retention over: the behaviour is forgotten, the standing kept.
    else enter(acct, 'Archived', at, { charges: [], activity: [] });
  }
  const comp = c.compliance;
  for (;;) {
    const wait = comp.state === 'UnderAudit' ? REMEDIATION_DAYS : comp.state === 'Retaining' ? COMPLIANCE_RETENTION_DAYS : null;
    if (wait === null || comp.since + days(wait) > now) break;
    const at = comp.since + days(wait);
    if (comp.state === 'UnderAudit') enter(comp, 'NonCompliant', at);
    else enter(comp, 'Erased', at, { failures: [] });
  }
}

function newCustomer(): Customer {
  return {
    entitlement: { state: 'Inactive', since: 0, sku: null, tier: null, manualHold: false, dunning: 'none' },
    subscription: { state: 'None', since: 0, id: null, plan: null, trialUsed: false, cancelledAt: null },
    billing: { state: 'AwaitingInvoice', failedAt: null, plan: null, trialUsed: false, usage: {}, usageKeys: new Set(), invoices: [], balance: new Decimal(0), credit: new Decimal(0), charges: [], paid: new Set(), failed: new Set() },
    account: { state: 'Onboarding', since: 0, hold: 'none', dunning: 'none', charges: [], activity: [] },
    quota: { tier: null, keys: new Set() },
    compliance: { state: 'Compliant', since: 0, failures: [] },
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

  /**
   * One event, decided as the rules say, on a node whose clock reads `now` (deadlines at or before
   * it fire once the event is through); a repeated eventId is a `duplicate` and changes nothing.
   */
  submit(event: LifecycleEvent, now = Date.now()): Outcome | 'duplicate' {
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
    const billing = after('Billing', c.billing.state) as BillingState | undefined;
    const account = after('CustomerAccount', c.account.state) as AccountState | undefined;
    const compliance = after('Compliance', c.compliance.state);
    // Billing delinquent: any dunning state; the account "suspended": anything but good, onboarding or past due.
    const delinquent = billing !== undefined && billing !== 'AwaitingInvoice' && billing !== 'InvoiceIssued';
    const suspended = account !== undefined && account !== 'Active' && account !== 'Onboarding' && account !== 'PastDue';
    const conflict = after('Entitlement', c.entitlement.state) === 'Active' && (delinquent || suspended || compliance === 'NonCompliant');
    const outcome: Outcome = refused || conflict ? 'rejected' : 'completed';
    if (outcome === 'completed') {
      for (const r of replies) if ('apply' in r) r.apply?.();
      c.receipts++;
      settle(c, now);
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
