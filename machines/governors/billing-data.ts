import type { InvoiceAdjustment } from '../../src/marketplace/invoice.ts';
import type { PeriodUsage } from '../../src/marketplace/usage-ledger.ts';
import type { Plan } from './plan.ts';

// Billing's data, apart from its machine (billing.ts), so the money work (billing-cycle.ts) and the
// records (billing-records.ts) read its shape without importing the machine that uses them.

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
