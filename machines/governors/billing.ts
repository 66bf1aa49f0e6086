import { DEFAULT_DUNNING_SCHEDULE, dunningTimeline } from '../../src/marketplace/dunning.ts';
import { buildMonthlyInvoice, type InvoiceAdjustment } from '../../src/marketplace/invoice.ts';
import { CURRENCY_PATTERN, Dec, formatCents, parseAmount } from '../../src/marketplace/money.ts';
import { PRICE_PLANS, estimateCost, type UsageQuantities } from '../../src/marketplace/pricing.ts';
import { cyclePrice, prorateTierChange } from '../../src/marketplace/proration.ts';
import { billingPeriodOf, countUsage, createPeriodUsage, emptyTotals, ledgerForPeriod, sumTotals, type PeriodUsage } from '../../src/marketplace/usage-ledger.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime, NO_RECORDS, type Decision, type GovernorDefinition, type RecordLookup, type TimeoutRule } from './governor-kit.ts';
import { migrateUsageKeys, usageKeysOf, usageSeen } from './usage-records.ts';
import { parseSku, renewPlan, renewalCheck, subscriptionStart, type Plan } from './plan.ts';

/**
 * The Billing governor: a customer's money. Usage is recorded idempotently in a ledger, invoices
 * are issued in arrears at each renewal (base fee, overage, proration charges, credits), payments
 * settle the balance, and a failed payment starts dunning:
 *
 *   AwaitingInvoice ⇄ InvoiceIssued → PaymentFailed →2d Retry1 →1d Retry2 →3d Retry3 →1d Suspended →6d Collections
 *
 * The waits are the dunning schedule of `src/marketplace/dunning.ts` (retries on days 2, 3, 6,
 * suspension when the 7-day grace ends, collections on day 13), counted from the failed payment's
 * `occurredAt` (business time, `business-time.ts`), as runtime state timeouts with those absolute
 * deadlines, so they survive passivation and restarts. A payment that covers the balance ends dunning from any state.
 *
 * Usage idempotency keys, applied payments and issued invoices are keyed records beside the state
 * (`usage:<key>`, `payment:<id>`, `invoice:<id>`), the first two read before each decision that
 * needs them: the data stays the same size however long the customer stays (issue 15: history is
 * not state), and a payment id is applied at most once, ever. The data keeps only the invoices
 * still unpaid (`openInvoices`: those since the last payment, which settles them all; dunning
 * suspends renewals within two weeks of a failed payment, so one or two unless the customer
 * neither pays nor has a payment fail) and the count and sum of all.
 *
 * Fixed from the seeds: money is exact decimal (never f64); the waits are timers, not external
 * events; all three retries happen. One instance per customer, not per invoice: the balance and
 * the dunning episode are the customer's. Disputes are not modelled (no event carries them).
 */
export const BILLING_STATES = ['AwaitingInvoice', 'InvoiceIssued', 'PaymentFailed', 'Retry1', 'Retry2', 'Retry3', 'Suspended', 'Collections'] as const;
export type BillingState = (typeof BILLING_STATES)[number];

/**
 * An issued invoice as Billing records it, `invoice:<id>` (the full invoice goes out with the
 * `billing.invoice_issued` receipt): written when it is issued, written again `paid` by the
 * payment that settles it.
 */
export interface InvoiceSummary {
  readonly invoiceId: string;
  readonly period: string;
  readonly total: string;
  readonly paid: boolean;
}

/** An invoice not paid yet, as the data keeps it until a payment settles it. */
export type OpenInvoice = Omit<InvoiceSummary, 'paid'>;

export interface BillingData {
  readonly plan: Plan | null;
  readonly trialUsed: boolean;
  /**
   * This calendar month's usage (`period`: the month of the events' `occurredAt`, as QuotaSla's),
   * opened by the subscription and moved on by the first report of a later month.
   */
  readonly ledger: PeriodUsage;
  /**
   * Usage of earlier months not invoiced yet: the next invoice bills it with the ledger's. Absent
   * in states persisted before it was kept (their ledger's totals were all uninvoiced).
   */
  readonly unbilled?: PeriodUsage['totals'];
  /** The unpaid invoices, oldest first (each also a record); the paid ones are only records. */
  readonly openInvoices: readonly OpenInvoice[];
  /** Invoices issued, ever: the last one's number. */
  readonly invoiceSeq: number;
  /** Sum of the totals of every invoice issued, USD: with the payment records, what proves invoiced = paid + due. */
  readonly invoiced: string;
  /** Amount due, USD, two decimals. */
  readonly balance: string;
  /** Credit for the next invoice (a downgrade's proration), USD. */
  readonly credit: string;
  /** Charges for the next invoice (an upgrade's proration). */
  readonly adjustments: readonly InvoiceAdjustment[];
  /** Failed payment ids of the current dunning episode (a failure is counted once). */
  readonly failedPayments: readonly string[];
  readonly failedAt: number | null;
}

type S = BillingState;
type D = BillingData;

/** Tolerance of a payment against the balance (seeds: "within 0.01 of the invoice"). */
export const PAYMENT_TOLERANCE = '0.01';
const GOOD: readonly S[] = ['AwaitingInvoice', 'InvoiceIssued'];

/** Standing as the conflict rules read it: anything but good is `delinquent`. */
export function billingStanding(state: S): 'good' | 'delinquent' {
  return GOOD.includes(state) ? 'good' : 'delinquent';
}

/**
 * The dunning waits, derived from the schedule: the schedule's steps must be three retries, then
 * suspension, then collections (a different schedule needs different states, so it fails loudly).
 */
export function dunningWaits(schedule = DEFAULT_DUNNING_SCHEDULE): Record<'PaymentFailed' | 'Retry1' | 'Retry2' | 'Retry3' | 'Suspended', number> {
  const steps = dunningTimeline(schedule, 0);
  const shape = steps.map((s) => s.action).join(',');
  if (shape !== 'retry_payment,retry_payment,retry_payment,suspend_service,send_to_collections') {
    throw new Error(`Billing's states expect three retries, then suspension, then collections; the schedule gives ${shape}`);
  }
  const at = steps.map((s) => s.at);
  return {
    PaymentFailed: at[0]!,
    Retry1: at[1]! - at[0]!,
    Retry2: at[2]! - at[1]!,
    Retry3: at[3]! - at[2]!,
    Suspended: at[4]! - at[3]!,
  };
}

const applied = (state: S, data: D, facts?: Decision<S, D>['facts']): Decision<S, D> => ({ status: 'applied', next: { state, data }, ...(facts ? { facts } : {}) });
const rejected = (reason: string): Decision<S, D> => ({ status: 'rejected', reason });
const notApplicable = (reason: string): Decision<S, D> => ({ status: 'not_applicable', reason });
const overdue = (data: D) => rejected(`payment overdue: ${data.balance} USD is due; settle it first`);

/** The ledger for business time `at` (the month of `at`, if later) and the uninvoiced usage of the months it closed. */
function openPeriod(data: D, at: number): { ledger: PeriodUsage; unbilled: PeriodUsage['totals'] } {
  const unbilled = data.unbilled ?? emptyTotals();
  const moved = ledgerForPeriod(data.ledger, billingPeriodOf(at));
  return { ledger: moved.ledger, unbilled: moved.closed ? sumTotals(unbilled, moved.closed) : unbilled };
}

/** Everything used and not invoiced yet. */
const uninvoiced = (data: D) => sumTotals(data.unbilled ?? emptyTotals(), data.ledger.totals);

function subscribe(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  // The same rule as Subscription's (plan.ts): both start the first cycle at the same instant.
  const start = subscriptionStart(event, data.trialUsed);
  if ('error' in start) return rejected(start.error);
  if (billingStanding(state) !== 'good') return overdue(data);
  if (data.plan) return rejected(`already billing ${data.plan.sku}`);
  // The subscription opens the usage ledger at its month.
  return applied(state, { ...data, plan: start.plan, trialUsed: start.trialUsed, ...openPeriod(data, eventTime(event)) });
}

function changePlan(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  if (!data.plan) return rejected('no plan to change');
  if (billingStanding(state) !== 'good') return overdue(data);
  const from = parseSku(event.fromSku);
  const to = parseSku(event.toSku);
  if ('error' in from) return rejected(`fromSku: ${from.error}`);
  if ('error' in to) return rejected(`toSku: ${to.error}`);
  if (from.sku !== data.plan.sku) return rejected(`billing ${data.plan.sku}, not ${from.sku}`);
  if (to.cycle !== data.plan.cycle) return rejected(`changing the billing cycle (${data.plan.cycle} → ${to.cycle}) needs a new subscription`);
  const at = eventTime(event);
  const plan = { ...data.plan, sku: to.sku, tier: to.tier };
  // In the trial no cycle has started: nothing to prorate.
  if (at < data.plan.cycleStart) return applied(state, { ...data, plan }, { proration: 'none' });
  const proration = prorateTierChange({ from: from.tier, to: to.tier, cycle: data.plan.cycle, cycleStart: data.plan.cycleStart, at });
  if (!proration.ok) return rejected(proration.message);
  const description = `${proration.change} ${from.sku} → ${to.sku}, ${proration.daysLeft} days left`;
  if (proration.direction === 'charge') {
    const adjustments = [...data.adjustments, { code: 'proration', description, amount: proration.amount }];
    return applied(state, { ...data, plan, adjustments }, { proration: `charge ${proration.amount}` });
  }
  const credit = formatCents(new Dec(data.credit).plus(proration.amount));
  return applied(state, { ...data, plan, credit }, { proration: `credit ${proration.amount}` });
}

/** The keyed record of an applied payment: `payment:<id>` → the amount applied (USD). */
export function paymentRecordKey(paymentId: string): string {
  return `payment:${paymentId}`;
}

/** The keyed record of an issued invoice: `invoice:<id>` → its {@link InvoiceSummary}. */
export function invoiceRecordKey(invoiceId: string): string {
  return `invoice:${invoiceId}`;
}

/** The records a payment's decision reads: whether its id was applied before. */
function paymentKeysOf(event: LifecycleEvent): readonly string[] {
  if (event.type !== 'PaymentProcessed' && event.type !== 'PaymentFailed') return [];
  return typeof event.paymentId === 'string' && event.paymentId.length > 0 ? [paymentRecordKey(event.paymentId)] : [];
}

/** Whether payment `paymentId` was applied (its record), never "no" for a record that is not one. */
function paymentApplied(records: RecordLookup, paymentId: string): boolean {
  const applied = records(paymentRecordKey(paymentId));
  if (applied === undefined || applied === null) return false;
  if (typeof applied !== 'string') throw new TypeError(`the payment record of ${JSON.stringify(paymentId)} is not an amount: restore it from a backup`);
  return true;
}

function pay(state: S, data: D, event: LifecycleEvent, records: RecordLookup): Decision<S, D> {
  const paymentId = event.paymentId;
  if (typeof paymentId !== 'string' || paymentId.length === 0) return rejected('paymentId must be a non-empty string');
  if (typeof event.currency !== 'string' || !CURRENCY_PATTERN.test(event.currency)) return rejected('currency must be three upper-case letters');
  if (event.currency !== 'USD') return rejected(`currency ${event.currency} is not accepted: invoices are in USD`);
  let amount;
  try {
    amount = parseAmount(event.amount, 'amount');
  } catch (error) {
    return rejected((error as Error).message);
  }
  if (paymentApplied(records, paymentId)) return rejected(`DuplicatePayment: payment ${paymentId} was applied already`);
  const balance = new Dec(data.balance);
  if (balance.lte(0)) return rejected(`nothing is due: payment ${paymentId} of ${formatCents(amount)} USD matches no invoice`);
  if (amount.minus(balance).abs().gt(PAYMENT_TOLERANCE)) {
    return rejected(`PaymentAmountMismatch: ${data.balance} USD is due, ${formatCents(amount)} USD was paid`);
  }
  const settled = applied('AwaitingInvoice', { ...data, balance: '0.00', openInvoices: [], failedPayments: [], failedAt: null });
  // The payment settles the whole balance: every open invoice is paid, its record says so.
  const paidInvoices = Object.fromEntries(data.openInvoices.map((i) => [invoiceRecordKey(i.invoiceId), { ...i, paid: true } satisfies InvoiceSummary]));
  return { ...settled, records: { ...paidInvoices, [paymentRecordKey(paymentId)]: formatCents(amount) } };
}

function fail(state: S, data: D, event: LifecycleEvent, records: RecordLookup): Decision<S, D> {
  const paymentId = event.paymentId;
  if (typeof paymentId !== 'string' || paymentId.length === 0) return rejected('paymentId must be a non-empty string');
  if (paymentApplied(records, paymentId)) return rejected(`payment ${paymentId} succeeded already; its failure comes too late`);
  if (data.failedPayments.includes(paymentId)) return rejected(`DuplicatePaymentFailure: the failure of ${paymentId} is recorded already`);
  if (new Dec(data.balance).lte(0)) return rejected('nothing is due: a failed payment needs an open invoice');
  const failedPayments = [...data.failedPayments, paymentId];
  if (state === 'InvoiceIssued' || state === 'AwaitingInvoice') {
    return applied('PaymentFailed', { ...data, failedPayments, failedAt: eventTime(event) });
  }
  // Already in dunning: the episode's clock keeps running; the failure is counted.
  return applied(state, { ...data, failedPayments });
}

function recordUsageEvent(state: S, data: D, event: LifecycleEvent, records: RecordLookup): Decision<S, D> {
  if (!data.plan) return rejected('no subscription to bill usage to');
  // Usage is ledgered under the month it happened in; an earlier month's stays unbilled until invoiced.
  const opened = openPeriod(data, eventTime(event));
  const result = countUsage(
    opened.ledger,
    { metric: event.metric as never, quantity: event.quantity as string | number, idempotencyKey: event.idempotencyKey as string },
    usageSeen(records, event),
  );
  switch (result.status) {
    case 'recorded':
      return { ...applied(state, { ...data, ledger: result.ledger, unbilled: opened.unbilled }), records: { [usageKeysOf(event)[0]!]: result.fingerprint } };
    case 'duplicate':
      return notApplicable(`usage ${String(event.idempotencyKey)} is recorded already`);
    default:
      return rejected(result.message);
  }
}

function renew(state: S, data: D, event: LifecycleEvent, customerId: string): Decision<S, D> {
  if (!data.plan) return rejected('no plan to renew');
  if (state === 'Suspended' || state === 'Collections') return rejected(`service suspended for non-payment: ${data.balance} USD is due`);
  const at = eventTime(event);
  const check = renewalCheck(data.plan, at);
  if (!check.due) return rejected(check.reason);
  const plan = data.plan;
  const adjustments = [...data.adjustments];
  if (plan.cycle !== 'monthly') {
    // TODO(src/marketplace/invoice.ts): cycle-aware invoices; until then a longer cycle's base fee
    // beyond the monthly one is an adjustment line (never negative: longer cycles cost more).
    const extra = new Dec(cyclePrice(plan.tier, plan.cycle)).minus(PRICE_PLANS[plan.tier].baseFee);
    adjustments.push({ code: 'cycle_fee', description: `${plan.cycle} cycle base fee beyond the first month`, amount: formatCents(extra) });
  }
  const invoiceSeq = data.invoiceSeq + 1;
  const opened = openPeriod(data, at);
  const invoice = buildMonthlyInvoice({
    invoiceId: `inv-${invoiceSeq}`,
    customerId,
    tier: plan.tier,
    period: billingPeriodOf(plan.cycleStart),
    usage: sumTotals(opened.unbilled, opened.ledger.totals),
    adjustments,
    credit: data.credit,
  });
  const total = new Dec(invoice.total);
  const balance = formatCents(new Dec(data.balance).plus(total));
  const summary: InvoiceSummary = { invoiceId: invoice.invoiceId, period: invoice.period, total: invoice.total, paid: total.lte(0) };
  const next: D = {
    ...data,
    plan: renewPlan(plan),
    invoiceSeq,
    openInvoices: summary.paid ? data.openInvoices : [...data.openInvoices, { invoiceId: summary.invoiceId, period: summary.period, total: summary.total }],
    invoiced: formatCents(new Dec(data.invoiced).plus(total)),
    balance,
    credit: invoice.creditRemaining,
    adjustments: [],
    // Invoiced: totals start again in the renewal's month (its keys are records, kept against redeliveries).
    ledger: { ...opened.ledger, totals: emptyTotals() },
    unbilled: emptyTotals(),
  };
  const target = state === 'AwaitingInvoice' && total.gt(0) ? 'InvoiceIssued' : state;
  return { ...applied(target, next, { invoice: invoice.invoiceId, invoiceTotal: invoice.total }), records: { [invoiceRecordKey(summary.invoiceId)]: summary } };
}

/** The pure decision of the Billing governor. */
export function decideBilling(state: S, data: D, event: LifecycleEvent, customerId: string, records: RecordLookup = NO_RECORDS): Decision<S, D> {
  switch (event.type) {
    case 'CustomerSubscribes':
      return subscribe(state, data, event);
    case 'CustomerUpgrades':
      return changePlan(state, data, event);
    case 'PaymentProcessed':
      return pay(state, data, event, records);
    case 'PaymentFailed':
      return fail(state, data, event, records);
    case 'UsageRecorded':
      return recordUsageEvent(state, data, event, records);
    case 'RenewalDue':
      return renew(state, data, event, customerId);
    case 'UsageExceedsQuota':
      return notApplicable('overage is billed from recorded usage on the next invoice');
    case 'CustomerCancels':
      // No further cycles; what is due stays due.
      return data.plan ? applied(state, { ...data, plan: null }) : notApplicable('no plan to stop');
    case 'SuspensionLifted':
      if (state === 'Suspended' || state === 'Collections') return rejected(`suspended for non-payment: a payment of ${data.balance} USD lifts it`);
      return notApplicable('a suspension does not change what is owed');
    case 'ManualSuspension':
      return notApplicable('a suspension does not change what is owed');
    default:
      return notApplicable(`Billing does not handle ${event.type}`);
  }
}

/**
 * Billing data of the layouts before records: the usage keys in its ledger, the `payments` map
 * and the `invoices` list become records (`usage:<key>`, `payment:<id>`, `invoice:<id>`), none
 * lost; the unpaid invoices stay open in the data, and `invoiced` sums the list (all the
 * invoices there are: the layout kept the last 36, the older ones were lost before this
 * migration). `undefined`: data of this layout.
 */
export function migrateBillingData(data: D): { data: D; records: Record<string, unknown> } | undefined {
  const usage = migrateUsageKeys(data);
  const old = (usage?.data ?? data) as D & { payments?: Readonly<Record<string, string>>; invoices?: readonly InvoiceSummary[] };
  if (!usage && old.payments === undefined && old.invoices === undefined) return undefined;
  const records: Record<string, unknown> = { ...usage?.records };
  for (const [paymentId, amount] of Object.entries(old.payments ?? {})) records[paymentRecordKey(paymentId)] = amount;
  const { payments: _payments, invoices, ...rest } = old;
  if (invoices === undefined) return { data: rest, records };
  for (const invoice of invoices) records[invoiceRecordKey(invoice.invoiceId)] = invoice;
  const openInvoices = invoices.filter((i) => !i.paid).map(({ paid: _paid, ...open }) => open);
  const invoiced = formatCents(invoices.reduce((sum, i) => sum.plus(i.total), new Dec(0)));
  return { data: { ...rest, openInvoices, invoiced }, records };
}

const waits = dunningWaits();
/** Days into the dunning episode each step ends (the schedule's), so each deadline is the failure's business time plus it. */
const dunningAt = dunningTimeline(DEFAULT_DUNNING_SCHEDULE, 0).map((s) => s.at);
const step = (ms: number, to: S, index: number): TimeoutRule<S, D> => ({
  ms,
  to,
  deadline: (data) => (data.failedAt === null ? null : data.failedAt + dunningAt[index]!),
});

export const billingGovernor: GovernorDefinition<S, D> = {
  kind: 'Billing',
  states: BILLING_STATES,
  initial: 'AwaitingInvoice',
  init: () => ({
    plan: null,
    trialUsed: false,
    // A placeholder until the subscription opens the ledger at its month (no usage is taken before).
    ledger: createPeriodUsage('1970-01'),
    unbilled: emptyTotals(),
    openInvoices: [],
    invoiceSeq: 0,
    invoiced: '0.00',
    balance: '0.00',
    credit: '0.00',
    adjustments: [],
    failedPayments: [],
    failedAt: null,
  }),
  decide: decideBilling,
  recordKeys: (event) => [...usageKeysOf(event), ...paymentKeysOf(event)],
  migrateData: migrateBillingData,
  // Every state: a dunning step a deadline has reached is committed into by the event decided after it.
  targets: BILLING_STATES,
  timeouts: {
    PaymentFailed: step(waits.PaymentFailed, 'Retry1', 0),
    Retry1: step(waits.Retry1, 'Retry2', 1),
    Retry2: step(waits.Retry2, 'Retry3', 2),
    Retry3: step(waits.Retry3, 'Suspended', 3),
    Suspended: step(waits.Suspended, 'Collections', 4),
  },
  announce: {
    Retry1: (data) => ({ type: 'billing.retry_payment', attempt: 1, amount: data.balance }),
    Retry2: (data) => ({ type: 'billing.retry_payment', attempt: 2, amount: data.balance }),
    Retry3: (data) => ({ type: 'billing.retry_payment', attempt: 3, amount: data.balance }),
    Suspended: (data) => ({ type: 'billing.suspend_service', amount: data.balance }),
    Collections: (data) => ({ type: 'billing.send_to_collections', amount: data.balance }),
  },
  facts: (state) => ({ standing: billingStanding(state), billing: state }),
  queries: {
    /** A cost estimate before running something: what `planned` usage adds to this month's bill. */
    estimate: ({ data }, event) =>
      data.plan ? estimateCost(data.plan.tier, uninvoiced(data), (event.planned ?? {}) as UsageQuantities) : { error: 'no plan' },
  },
};

/** The Billing governor's machine. */
export const billingMachine = defineGovernor(billingGovernor);
