import { Dec, formatCents } from '../../src/marketplace/money.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import type { BillingData, InvoiceSummary } from './billing-data.ts';
import type { RecordLookup } from './governor-kit.ts';
import { migrateUsageKeys, usageKeysOf } from './usage-records.ts';

/**
 * Billing's history as keyed records beside its state (issue 15: history is not state): usage
 * idempotency keys (`usage:<key>`, `usage-records.ts`), applied payments (`payment:<id>`) and
 * issued invoices (`invoice:<id>`); the first two are read before each decision that needs
 * them, and states of the layouts that kept them in the data move them here on first load.
 */

type D = BillingData;

/** The keyed record of an applied payment: `payment:<id>` → the amount applied (USD). */
export function paymentRecordKey(paymentId: string): string {
  return `payment:${paymentId}`;
}

/** The keyed record of an issued invoice: `invoice:<id>` → its {@link InvoiceSummary}. */
export function invoiceRecordKey(invoiceId: string): string {
  return `invoice:${invoiceId}`;
}

/** The records a payment's decision reads: whether its id was applied before. */
export function paymentKeysOf(event: LifecycleEvent): readonly string[] {
  if (event.type !== 'PaymentProcessed' && event.type !== 'PaymentFailed') return [];
  return typeof event.paymentId === 'string' && event.paymentId.length > 0 ? [paymentRecordKey(event.paymentId)] : [];
}

/** The records a Billing decision on `event` reads: its usage key's and its payment's. */
export function billingRecordKeys(event: LifecycleEvent): readonly string[] {
  return [...usageKeysOf(event), ...paymentKeysOf(event)];
}

/** Whether payment `paymentId` was applied (its record), never "no" for a record that is not one. */
export function paymentApplied(records: RecordLookup, paymentId: string | undefined): boolean {
  if (paymentId === undefined) return false;
  const applied = records(paymentRecordKey(paymentId));
  if (applied === undefined || applied === null) return false;
  if (typeof applied !== 'string') throw new TypeError(`the payment record of ${JSON.stringify(paymentId)} is not an amount: restore it from a backup`);
  return true;
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
