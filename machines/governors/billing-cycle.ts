import { buildMonthlyInvoice, type InvoiceAdjustment } from '../../src/marketplace/invoice.ts';
import { Dec, formatCents } from '../../src/marketplace/money.ts';
import { PRICE_PLANS } from '../../src/marketplace/pricing.ts';
import { cyclePrice, prorateTierChange } from '../../src/marketplace/proration.ts';
import { billingPeriodOf, emptyTotals, ledgerForPeriod, sumTotals, type PeriodUsage } from '../../src/marketplace/usage-ledger.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import type { BillingData, InvoiceSummary } from './billing-data.ts';
import { eventTime } from './governor-kit.ts';
import { parseSku, renewPlan, type Plan } from './plan.ts';

/**
 * What Billing's plan changes and renewals come to, as pure functions of its data: the
 * proration of a change mid-cycle, and the invoice a renewal issues in arrears. Its machine
 * (`billing.ts`) decides which of them an event gets; the money is worked out here.
 */

type D = BillingData;

/** The ledger for business time `at` (the month of `at`, if later) and the uninvoiced usage of the months it closed. */
export function openPeriod(data: D, at: number): { ledger: PeriodUsage; unbilled: PeriodUsage['totals'] } {
  const unbilled = data.unbilled ?? emptyTotals();
  const moved = ledgerForPeriod(data.ledger, billingPeriodOf(at));
  return { ledger: moved.ledger, unbilled: moved.closed ? sumTotals(unbilled, moved.closed) : unbilled };
}

/** Everything used and not invoiced yet. */
export const uninvoiced = (data: D) => sumTotals(data.unbilled ?? emptyTotals(), data.ledger.totals);

/**
 * What a plan change comes to: refused (with why), or the plan after it and what it costs: nothing
 * in the trial (no cycle has started), else the prorated difference charged on the next invoice
 * or credited against it.
 */
export function planChange(data: D, event: LifecycleEvent): { readonly error: string } | { readonly plan: Plan; readonly prorated: 'none' | InvoiceAdjustment | { readonly credit: string } } {
  if (!data.plan) return { error: 'no plan to change' };
  const from = parseSku(event.fromSku);
  const to = parseSku(event.toSku);
  if ('error' in from) return { error: `fromSku: ${from.error}` };
  if ('error' in to) return { error: `toSku: ${to.error}` };
  if (from.sku !== data.plan.sku) return { error: `billing ${data.plan.sku}, not ${from.sku}` };
  if (to.cycle !== data.plan.cycle) return { error: `changing the billing cycle (${data.plan.cycle} → ${to.cycle}) needs a new subscription` };
  const at = eventTime(event);
  const plan = { ...data.plan, sku: to.sku, tier: to.tier };
  if (at < data.plan.cycleStart) return { plan, prorated: 'none' };
  const proration = prorateTierChange({ from: from.tier, to: to.tier, cycle: data.plan.cycle, cycleStart: data.plan.cycleStart, at });
  if (!proration.ok) return { error: proration.message };
  const description = `${proration.change} ${from.sku} → ${to.sku}, ${proration.daysLeft} days left`;
  return { plan, prorated: proration.direction === 'charge' ? { code: 'proration', description, amount: proration.amount } : { credit: proration.amount } };
}

/**
 * The invoice a due renewal issues, in arrears: the base fee, the usage not invoiced yet, the
 * proration charges and the credit; and the data after it (the next cycle, the ledger invoiced).
 */
export function renewalInvoice(data: D, customerId: string, at: number) {
  const plan = data.plan;
  if (!plan) throw new TypeError('a renewal needs a plan');
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
  const summary: InvoiceSummary = { invoiceId: invoice.invoiceId, period: invoice.period, total: invoice.total, paid: total.lte(0) };
  const next: D = {
    ...data,
    plan: renewPlan(plan),
    invoiceSeq,
    openInvoices: summary.paid ? data.openInvoices : [...data.openInvoices, { invoiceId: summary.invoiceId, period: summary.period, total: summary.total }],
    invoiced: formatCents(new Dec(data.invoiced).plus(total)),
    balance: formatCents(new Dec(data.balance).plus(total)),
    credit: invoice.creditRemaining,
    adjustments: [],
    // Invoiced: totals start again in the renewal's month (its keys are records, kept against redeliveries).
    ledger: { ...opened.ledger, totals: emptyTotals() },
    unbilled: emptyTotals(),
  };
  return { invoice, summary, next };
}
