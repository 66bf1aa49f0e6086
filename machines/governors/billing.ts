import { DEFAULT_DUNNING_SCHEDULE, dunningTimeline } from '../../src/marketplace/dunning.ts';
import { CURRENCY_PATTERN, Dec, formatCents, parseAmount } from '../../src/marketplace/money.ts';
import { estimateCost, type UsageQuantities } from '../../src/marketplace/pricing.ts';
import { countUsage, createPeriodUsage, emptyTotals } from '../../src/marketplace/usage-ledger.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { assign, setup } from 'xstate';
import { defineGovernor, eventTime, NO_RECORDS, type RecordLookup } from './governor-kit.ts';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent, type DomainTimeout, type DomainTiming } from './domain-machine.ts';
import { openPeriod, planChange, renewalInvoice, uninvoiced } from './billing-cycle.ts';
import { billingRecordKeys, invoiceRecordKey, migrateBillingData, paymentApplied, paymentRecordKey } from './billing-records.ts';
import { usageKeysOf, usageSeen } from './usage-records.ts';
import { perEvent } from './per-event.ts';
import type { BillingData, InvoiceSummary } from './billing-data.ts';
import { renewalCheck, subscriptionStart } from './plan.ts';

export { invoiceRecordKey, migrateBillingData, paymentRecordKey } from './billing-records.ts';

/**
 * The Billing governor: a customer's money. Usage is recorded idempotently in a ledger, invoices
 * are issued in arrears at each renewal (base fee, overage, proration charges, credits), payments
 * settle the balance, and a failed payment starts dunning:
 *
 *   AwaitingInvoice ⇄ InvoiceIssued → PaymentFailed →2d Retry1 →1d Retry2 →3d Retry3 →1d Suspended →6d Collections
 *   (nothing due)     (a renewal      (a failure)     a payment of the balance → AwaitingInvoice, from any of them
 *                      billed)
 *
 * Written out as an XState machine (`billingDomain`): each state takes only the events its data
 * allows (nothing is due while awaiting an invoice; a failure is counted, and refused twice, only
 * in dunning; a delinquent customer can neither subscribe nor change plans), so every transition
 * drawn can be taken.
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

export type { BillingData, InvoiceSummary, OpenInvoice } from './billing-data.ts';

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

type BillingEvent =
  | DomainEvent<'CustomerSubscribes', { sku: unknown; tier: unknown; trial: unknown }>
  | DomainEvent<'CustomerUpgrades', { fromSku: unknown; toSku: unknown }>
  | DomainEvent<'PaymentProcessed', { paymentId: unknown; amount: unknown; currency: unknown }>
  | DomainEvent<'PaymentFailed', { paymentId: unknown; reason: unknown }>
  | DomainEvent<'UsageRecorded', { metric: unknown; quantity: unknown; idempotencyKey: unknown }>
  | DomainEvent<'RenewalDue'>
  | DomainEvent<'UsageExceedsQuota'>
  | DomainEvent<'CustomerCancels'>
  | DomainEvent<'ManualSuspension'>
  | DomainEvent<'SuspensionLifted'>
  | DomainTimeout;

type Ctx = DomainContext<D>;

const INITIAL: D = {
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
};

const timeOf = (event: BillingEvent): number => (event.type === 'timeout' ? Number.NaN : eventTime(event));
const paymentIdOf = (event: BillingEvent): string | undefined =>
  (event.type === 'PaymentProcessed' || event.type === 'PaymentFailed') && typeof event.paymentId === 'string' && event.paymentId.length > 0 ? event.paymentId : undefined;

/** A plan change's outcome (`billing-cycle.ts`). */
const changeOf = perEvent(({ data }: Ctx, event: BillingEvent) => (event.type === 'CustomerUpgrades' ? planChange(data, event) : { error: `${event.type} is not a plan change` }));
/** The invoice a due renewal issues and the data after it (`billing-cycle.ts`). */
const renewal = perEvent(({ data, customerId }: Ctx, event: BillingEvent) => renewalInvoice(data, customerId, timeOf(event)));

/** What a subscription starts (the same rule as Subscription's, `plan.ts`: both start the first cycle at the same instant). */
const startOf = (data: D, event: BillingEvent) => (event.type === 'CustomerSubscribes' ? subscriptionStart(event, data.trialUsed) : { error: `${event.type} is not a subscription` });

/** Why a payment is malformed (its id, currency and amount), or `undefined`. */
function paymentProblem(event: BillingEvent): string | undefined {
  if (event.type !== 'PaymentProcessed') return `${event.type} is not a payment`;
  if (paymentIdOf(event) === undefined) return 'paymentId must be a non-empty string';
  if (typeof event.currency !== 'string' || !CURRENCY_PATTERN.test(event.currency)) return 'currency must be three upper-case letters';
  if (event.currency !== 'USD') return `currency ${event.currency} is not accepted: invoices are in USD`;
  try {
    parseAmount(event.amount, 'amount');
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/** The amount of a well-formed payment, exact (compared with the balance as it was given). */
const amountOf = (event: BillingEvent) => parseAmount(event.type === 'PaymentProcessed' ? event.amount : undefined, 'amount');
/** The amount of a well-formed payment, as it is written down: two decimals. */
const paidOf = (event: BillingEvent): string => formatCents(amountOf(event));

/** A usage report ledgered under the month it happened in (an earlier month's stays unbilled until invoiced), once per key ever. */
const counted = perEvent(({ data, records }: Ctx, event: BillingEvent) => {
  if (event.type !== 'UsageRecorded') throw new TypeError(`${event.type} is not a usage report`);
  const opened = openPeriod(data, eventTime(event));
  const { metric, quantity, idempotencyKey } = event;
  const result = countUsage(opened.ledger, { metric, quantity, idempotencyKey }, usageSeen(records, event));
  return { result, unbilled: opened.unbilled };
});

const overdue = { type: 'reject', params: ({ context }: { context: Ctx }) => ({ reason: `payment overdue: ${context.data.balance} USD is due; settle it first` }) } as const;

/**
 * The customer's money, written out. Standing is the state: AwaitingInvoice (nothing due) and
 * InvoiceIssued are good, the dunning states are delinquent, and each transition is written for
 * what its state holds (nothing is due while awaiting an invoice, a failure is counted only in
 * dunning), so no branch waits for data its state cannot have.
 */
export const billingDomain = setup({
  types: {} as { context: Ctx; events: BillingEvent },
  guards: {
    noPlan: ({ context }) => context.data.plan === null,
    subscriptionRefused: ({ context, event }) => 'error' in startOf(context.data, event),
    changeRefused: ({ context, event }) => 'error' in changeOf(context, event),
    /** The change falls before the cycle starts (in the trial, or before a renewed cycle): nothing to prorate. */
    beforeCycle: ({ context, event }) => {
      const change = changeOf(context, event);
      return 'plan' in change && change.prorated === 'none';
    },
    /** An upgrade: the prorated difference is charged on the next invoice. */
    prorationCharged: ({ context, event }) => {
      const change = changeOf(context, event);
      return 'plan' in change && typeof change.prorated === 'object' && 'amount' in change.prorated;
    },
    paymentMalformed: ({ event }) => paymentProblem(event) !== undefined,
    failureMalformed: ({ event }) => paymentIdOf(event) === undefined,
    /** The payment's id was applied before (its record): never twice, and its failure comes too late. */
    paymentApplied: ({ context, event }) => paymentApplied(context.records, paymentIdOf(event)),
    /** The payment is not the balance, within a cent. */
    amountMismatch: ({ context, event }) => amountOf(event).minus(new Dec(context.data.balance)).abs().gt(PAYMENT_TOLERANCE),
    /** This failure is counted in the episode already. */
    failureCounted: ({ context, event }) => context.data.failedPayments.includes(paymentIdOf(event) ?? ''),
    usageCounted: ({ context, event }) => counted(context, event).result.status === 'duplicate',
    usageRefused: ({ context, event }) => {
      const { status } = counted(context, event).result;
      return status !== 'recorded' && status !== 'duplicate';
    },
    renewalNotDue: ({ context, event }) => notDue(context.data, event) !== undefined,
    /** The renewal's invoice bills something (a free tier's, or one the credit covers, does not). */
    invoiceDue: ({ context, event }) => new Dec(renewal(context, event).invoice.total).gt(0),
  },
  actions: {
    reject: assign((_, params: { reason: string }) => ({ outcome: outcome.rejected(params.reason) })),
    notApplicable: assign((_, params: { reason: string }) => ({ outcome: outcome.notApplicable(params.reason) })),
    /** The plan starts billing; the subscription opens the usage ledger at its month. */
    subscribe: assign(({ context, event }) => {
      const start = startOf(context.data, event);
      if ('error' in start) return { outcome: outcome.rejected(start.error) };
      return { data: { ...context.data, plan: start.plan, trialUsed: start.trialUsed, ...openPeriod(context.data, timeOf(event)) }, outcome: outcome.applied };
    }),
    /** Before the cycle starts nothing is prorated: the plan changes, and the next invoice bills the new one. */
    changePlan: assign(({ context, event }) => {
      const change = changeOf(context, event);
      if ('error' in change) return { outcome: outcome.rejected(change.error) };
      return { data: { ...context.data, plan: change.plan }, outcome: { ...outcome.applied, facts: { proration: 'none' } } };
    }),
    /** An upgrade mid-cycle: the prorated difference is a charge on the next invoice. */
    chargeProration: assign(({ context, event }) => {
      const change = changeOf(context, event);
      if ('error' in change || change.prorated === 'none' || !('amount' in change.prorated)) return { outcome: outcome.rejected('no proration to charge (a governor bug)') };
      const charge = change.prorated;
      return { data: { ...context.data, plan: change.plan, adjustments: [...context.data.adjustments, charge] }, outcome: { ...outcome.applied, facts: { proration: `charge ${charge.amount}` } } };
    }),
    /** A downgrade mid-cycle: a credit against the next invoice, never a negative charge. */
    creditProration: assign(({ context, event }) => {
      const change = changeOf(context, event);
      if ('error' in change || change.prorated === 'none' || !('credit' in change.prorated)) return { outcome: outcome.rejected('no proration to credit (a governor bug)') };
      const { credit } = change.prorated;
      return { data: { ...context.data, plan: change.plan, credit: formatCents(new Dec(context.data.credit).plus(credit)) }, outcome: { ...outcome.applied, facts: { proration: `credit ${credit}` } } };
    }),
    /** The payment settles the whole balance: every open invoice is paid, and its record says so. */
    settle: assign(({ context, event }) => {
      const paymentId = paymentIdOf(event) ?? '';
      const paidInvoices = Object.fromEntries(context.data.openInvoices.map((i) => [invoiceRecordKey(i.invoiceId), { ...i, paid: true } satisfies InvoiceSummary]));
      return {
        data: { ...context.data, balance: '0.00', openInvoices: [], failedPayments: [], failedAt: null },
        outcome: { ...outcome.applied, records: { ...paidInvoices, [paymentRecordKey(paymentId)]: paidOf(event) } },
      };
    }),
    /** The dunning episode starts at the failure's business time: its steps are counted from it. */
    startDunning: assign(({ context, event }) => ({
      data: { ...context.data, failedPayments: [...context.data.failedPayments, paymentIdOf(event) ?? ''], failedAt: timeOf(event) },
      outcome: outcome.applied,
    })),
    /** Already in dunning: the episode's clock keeps running; the failure is counted. */
    countFailure: assign(({ context, event }) => ({ data: { ...context.data, failedPayments: [...context.data.failedPayments, paymentIdOf(event) ?? ''] }, outcome: outcome.applied })),
    recordUsage: assign(({ context, event }) => {
      const { result, unbilled } = counted(context, event);
      const [key] = event.type === 'UsageRecorded' ? usageKeysOf(event) : [];
      if (result.status !== 'recorded' || key === undefined) return { outcome: outcome.rejected('the usage cannot be recorded (a governor bug)') };
      return { data: { ...context.data, ledger: result.ledger, unbilled }, outcome: { ...outcome.applied, records: { [key]: result.fingerprint } } };
    }),
    invoice: assign(({ context, event }) => {
      const { invoice, summary, next } = renewal(context, event);
      return { data: next, outcome: { ...outcome.applied, facts: { invoice: invoice.invoiceId, invoiceTotal: invoice.total }, records: { [invoiceRecordKey(summary.invoiceId)]: summary } } };
    }),
    /** No further cycles; what is due stays due. */
    stopPlan: assign(({ context }) => ({ data: { ...context.data, plan: null }, outcome: outcome.applied })),
  },
}).createMachine({
  id: 'Billing',
  initial: 'AwaitingInvoice',
  context: domainContext(INITIAL),
  on: {
    UsageRecorded: [
      { guard: 'noPlan', actions: { type: 'reject', params: { reason: 'no subscription to bill usage to' } } },
      { guard: 'usageCounted', actions: { type: 'notApplicable', params: ({ event }) => ({ reason: `usage ${String(event.type === 'UsageRecorded' ? event.idempotencyKey : undefined)} is recorded already` }) } },
      { guard: 'usageRefused', actions: { type: 'reject', params: ({ context, event }) => ({ reason: messageOf(counted(context, event).result) }) } },
      { actions: 'recordUsage' },
    ],
    CustomerCancels: [{ guard: 'noPlan', actions: { type: 'notApplicable', params: { reason: 'no plan to stop' } } }, { actions: 'stopPlan' }],
    UsageExceedsQuota: { actions: { type: 'notApplicable', params: { reason: 'overage is billed from recorded usage on the next invoice' } } },
    ManualSuspension: { actions: { type: 'notApplicable', params: { reason: 'a suspension does not change what is owed' } } },
    SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'a suspension does not change what is owed' } } },
  },
  states: {
    // Nothing is due: a payment or a failure has no invoice to meet.
    AwaitingInvoice: {
      on: {
        ...goodStanding(),
        PaymentProcessed: [
          ...refusePayment(),
          { actions: { type: 'reject', params: ({ event }) => ({ reason: `nothing is due: payment ${paymentIdOf(event) ?? ''} of ${paidOf(event)} USD matches no invoice` }) } },
        ],
        PaymentFailed: [...refuseFailure(), { actions: { type: 'reject', params: { reason: 'nothing is due: a failed payment needs an open invoice' } } }],
        RenewalDue: [...refuseRenewal(), { guard: 'invoiceDue', target: 'InvoiceIssued', actions: 'invoice' }, { actions: 'invoice' }],
      },
    },
    InvoiceIssued: {
      on: {
        ...goodStanding(),
        PaymentProcessed: settles(),
        PaymentFailed: [...refuseFailure(), { target: 'PaymentFailed', actions: 'startDunning' }],
        RenewalDue: [...refuseRenewal(), { actions: 'invoice' }],
      },
    },
    // Dunning: each step's wait is the schedule's, counted from the failure's business time.
    PaymentFailed: { on: { ...dunning(), RenewalDue: [...refuseRenewal(), { actions: 'invoice' }], timeout: { target: 'Retry1' } } },
    Retry1: { on: { ...dunning(), RenewalDue: [...refuseRenewal(), { actions: 'invoice' }], timeout: { target: 'Retry2' } } },
    Retry2: { on: { ...dunning(), RenewalDue: [...refuseRenewal(), { actions: 'invoice' }], timeout: { target: 'Retry3' } } },
    Retry3: { on: { ...dunning(), RenewalDue: [...refuseRenewal(), { actions: 'invoice' }], timeout: { target: 'Suspended' } } },
    Suspended: { on: { ...dunning(), ...suspendedForNonPayment(), timeout: { target: 'Collections' } } },
    Collections: { on: { ...dunning(), ...suspendedForNonPayment() } },
  },
});

/** A subscription or a plan change in good standing. */
function goodStanding() {
  return {
    CustomerSubscribes: [
      refuseSubscription(),
      { guard: 'noPlan', actions: 'subscribe' },
      { actions: { type: 'reject', params: ({ context }: { context: Ctx }) => ({ reason: `already billing ${context.data.plan?.sku ?? ''}` }) } },
    ],
    CustomerUpgrades: [
      { guard: 'noPlan', actions: { type: 'reject', params: { reason: 'no plan to change' } } },
      { guard: 'changeRefused', actions: { type: 'reject', params: ({ context, event }: { context: Ctx; event: BillingEvent }) => ({ reason: errorOf(changeOf(context, event)) }) } },
      { guard: 'beforeCycle', actions: 'changePlan' },
      { guard: 'prorationCharged', actions: 'chargeProration' },
      { actions: 'creditProration' },
    ],
  } as const;
}

/** Delinquent: nothing new until the balance is paid; a payment of it ends dunning, a failure is counted. */
function dunning() {
  return {
    CustomerSubscribes: [refuseSubscription(), { actions: overdue }],
    CustomerUpgrades: [{ guard: 'noPlan', actions: { type: 'reject', params: { reason: 'no plan to change' } } }, { actions: overdue }],
    PaymentProcessed: settles(),
    PaymentFailed: [
      ...refuseFailure(),
      { guard: 'failureCounted', actions: { type: 'reject', params: ({ event }: { event: BillingEvent }) => ({ reason: `DuplicatePaymentFailure: the failure of ${paymentIdOf(event) ?? ''} is recorded already` }) } },
      { actions: 'countFailure' },
    ],
  } as const;
}

/** Suspended for non-payment: no renewal, and only a payment lifts it. */
function suspendedForNonPayment() {
  return {
    RenewalDue: [
      { guard: 'noPlan', actions: { type: 'reject', params: { reason: 'no plan to renew' } } },
      { actions: { type: 'reject', params: ({ context }: { context: Ctx }) => ({ reason: `service suspended for non-payment: ${context.data.balance} USD is due` }) } },
    ],
    SuspensionLifted: { actions: { type: 'reject', params: ({ context }: { context: Ctx }) => ({ reason: `suspended for non-payment: a payment of ${context.data.balance} USD lifts it` }) } },
  } as const;
}

function refuseSubscription() {
  return { guard: 'subscriptionRefused', actions: { type: 'reject', params: ({ context, event }: { context: Ctx; event: BillingEvent }) => ({ reason: errorOf(startOf(context.data, event)) }) } } as const;
}

/** A payment of the balance (within a cent) settles it, from any state with something due. */
function settles() {
  return [
    ...refusePayment(),
    {
      guard: 'amountMismatch',
      actions: { type: 'reject', params: ({ context, event }: { context: Ctx; event: BillingEvent }) => ({ reason: `PaymentAmountMismatch: ${context.data.balance} USD is due, ${paidOf(event)} USD was paid` }) },
    },
    { target: 'AwaitingInvoice', actions: 'settle' },
  ] as const;
}

function refusePayment() {
  return [
    { guard: 'paymentMalformed', actions: { type: 'reject', params: ({ event }: { event: BillingEvent }) => ({ reason: paymentProblem(event) ?? '' }) } },
    { guard: 'paymentApplied', actions: { type: 'reject', params: ({ event }: { event: BillingEvent }) => ({ reason: `DuplicatePayment: payment ${paymentIdOf(event) ?? ''} was applied already` }) } },
  ] as const;
}

function refuseFailure() {
  return [
    { guard: 'failureMalformed', actions: { type: 'reject', params: { reason: 'paymentId must be a non-empty string' } } },
    { guard: 'paymentApplied', actions: { type: 'reject', params: ({ event }: { event: BillingEvent }) => ({ reason: `payment ${paymentIdOf(event) ?? ''} succeeded already; its failure comes too late` }) } },
  ] as const;
}

function refuseRenewal() {
  return [
    { guard: 'noPlan', actions: { type: 'reject', params: { reason: 'no plan to renew' } } },
    {
      guard: 'renewalNotDue',
      actions: { type: 'reject', params: ({ context, event }: { context: Ctx; event: BillingEvent }) => ({ reason: notDue(context.data, event) ?? '' }) },
    },
  ] as const;
}

/** Why a renewal is not due yet (a renewal moves the cycle on, so the same one twice is not due again), or `undefined`. */
function notDue(data: D, event: BillingEvent): string | undefined {
  const check = data.plan ? renewalCheck(data.plan, timeOf(event)) : undefined;
  return check && !check.due ? check.reason : undefined;
}

const errorOf = (result: object): string => ('error' in result ? String(result.error) : 'refused');
const messageOf = (result: object): string => ('message' in result ? String(result.message) : 'refused');

const waits = dunningWaits();
/** Days into the dunning episode each step ends (the schedule's), so each deadline is the failure's business time plus it. */
const dunningAt = dunningTimeline(DEFAULT_DUNNING_SCHEDULE, 0).map((s) => s.at);
const step = (ms: number, index: number): DomainTiming<D> => ({
  ms,
  deadline: (data) => (data.failedAt === null ? null : data.failedAt + dunningAt[index]!),
});

export const billingGovernor = governorFromMachine<S, D>(billingDomain, {
  kind: 'Billing',
  init: () => INITIAL,
  recordKeys: billingRecordKeys,
  migrateData: migrateBillingData,
  timing: {
    PaymentFailed: step(waits.PaymentFailed, 0),
    Retry1: step(waits.Retry1, 1),
    Retry2: step(waits.Retry2, 2),
    Retry3: step(waits.Retry3, 3),
    Suspended: step(waits.Suspended, 4),
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
});

/** The pure decision of the Billing governor: its machine, taken one event. */
export const decideBilling = (state: S, data: D, event: LifecycleEvent, customerId: string, records: RecordLookup = NO_RECORDS) =>
  billingGovernor.decide(state, data, event, customerId, records);

/** The Billing governor's machine. */
export const billingMachine = defineGovernor(billingGovernor);
