import { Decimal } from 'decimal.js';
import type { CustomerView, EntitlementState, BillingState, SubscriptionState, Outcome } from './chaos-model.ts';

/**
 * Reads what the system committed for one customer into the rules model's terms: the fields of
 * {@link CustomerView} and the orchestrator's outcome records, from the actors' contexts as they
 * are persisted (plain JSON, read loosely on purpose: this file knows the shape of what the nodes
 * write, not the code that writes it).
 */
interface Invoice {
  readonly invoiceId: string;
  readonly total: string;
}

interface Persisted {
  readonly state?: string;
  /** `invoices`: the layout that kept them in the data (now `invoice:<id>` records). */
  readonly data?: { readonly balance?: string; readonly invoices?: readonly Invoice[] };
  /** Billing's keyed records, as the readers show them beside its context. */
  readonly records?: Readonly<Record<string, unknown>>;
  readonly receipts?: ReadonlyArray<{ readonly entry: { readonly eventId: string } }>;
  /** The orchestrator's handled records by eventId (as the readers show them), or a list. */
  readonly handled?: Readonly<Record<string, { readonly status: string; readonly seq?: number }>> | ReadonlyArray<{ readonly eventId: string; readonly status: string }>;
}

/** Billing's issued invoices: its `invoice:<id>` records (or the list in the data of the layout before). */
function invoicesOf(billing: Persisted | undefined): readonly Invoice[] {
  const recorded = Object.entries(billing?.records ?? {}).filter(([field]) => field.startsWith('invoice:'));
  return recorded.length > 0 ? recorded.map(([, invoice]) => invoice as Invoice) : (billing?.data?.invoices ?? []);
}

/** `contexts`: the committed context of each actor kind of the customer (absent: never created), Billing's with its `records`. */
export function observedView(contexts: ReadonlyMap<string, unknown>): CustomerView {
  const of = (kind: string) => contexts.get(kind) as Persisted | undefined;
  const invoices = invoicesOf(of('Billing'));
  return {
    entitlement: (of('Entitlement')?.state ?? 'Inactive') as EntitlementState,
    subscription: (of('Subscription')?.state ?? 'None') as SubscriptionState,
    billing: (of('Billing')?.state ?? 'AwaitingInvoice') as BillingState,
    balance: new Decimal(of('Billing')?.data?.balance ?? '0').toFixed(2),
    invoices: invoices.length,
    invoiced: invoices.reduce((sum, i) => sum.plus(i.total), new Decimal(0)).toFixed(2),
    receipts: of('Receipts')?.receipts?.length ?? 0,
  };
}

/** The orchestrator's outcome records, in the order it decided them (their `seq`). */
export function observedOutcomes(contexts: ReadonlyMap<string, unknown>): Array<{ eventId: string; outcome: Outcome }> {
  const handled = (contexts.get('Orchestrator') as Persisted | undefined)?.handled ?? [];
  if (Array.isArray(handled)) return handled.map((r: { eventId: string; status: string }) => ({ eventId: r.eventId, outcome: r.status as Outcome }));
  return Object.entries(handled as Record<string, { status: string; seq?: number }>)
    .sort(([, a], [, b]) => (a.seq ?? -1) - (b.seq ?? -1))
    .map(([eventId, r]) => ({ eventId, outcome: r.status as Outcome }));
}

/** Event ids of the customer's receipts, in chain order. */
export function receiptIds(contexts: ReadonlyMap<string, unknown>): string[] {
  return ((contexts.get('Receipts') as Persisted | undefined)?.receipts ?? []).map((r) => r.entry.eventId);
}

/** Invoice ids of the customer's Billing. */
export function invoiceIds(contexts: ReadonlyMap<string, unknown>): string[] {
  return invoicesOf(contexts.get('Billing') as Persisted | undefined).map((i) => i.invoiceId);
}
