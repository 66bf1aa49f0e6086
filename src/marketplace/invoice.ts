import { InvalidArgumentError } from './errors.ts';
import { isSafeId } from './ids.ts';
import { DECIMAL_STRING_PATTERN, Dec, formatCents, sum } from './money.ts';
import { priceUsage, type ChargeLine, type Metric, type UsageQuantities } from './pricing.ts';
import type { TierId } from './tiers.ts';
import { PERIOD_PATTERN } from './usage-ledger.ts';

/**
 * Monthly invoices.
 *
 * Every line is rounded to the cent once (ROUND_HALF_UP) and the subtotal is the sum of the
 * rounded lines, so lines always add up. Lines are never negative: money owed back (a downgrade's
 * proration) is a credit applied against the subtotal, never a negative charge, and a credit
 * larger than the invoice carries forward instead of making the total negative.
 */

/** A charge to add to the month's usage lines (a proration charge, a one-off fee). */
export interface InvoiceAdjustment {
  /** Stable code, e.g. `proration`. */
  readonly code: string;
  readonly description: string;
  /** Non-negative decimal string, USD; rounded to the cent. */
  readonly amount: string;
}

/** What a monthly invoice is built from. */
export interface MonthlyInvoiceInput {
  readonly invoiceId: string;
  readonly customerId: string;
  readonly tier: TierId;
  /** `YYYY-MM`. */
  readonly period: string;
  /** The month's usage totals (e.g. `UsageLedger.totals`). */
  readonly usage: UsageQuantities;
  /** Extra charges. @default [] */
  readonly adjustments?: readonly InvoiceAdjustment[];
  /** Credit available to the customer (e.g. from a downgrade), USD. @default "0" */
  readonly credit?: string;
}

/** A monthly invoice. All amounts are decimal strings with two decimals, USD. */
export interface Invoice {
  readonly invoiceId: string;
  readonly customerId: string;
  readonly tier: TierId;
  readonly period: string;
  readonly currency: 'USD';
  readonly lines: readonly ChargeLine[];
  /** Sum of `lines[].amount`. */
  readonly subtotal: string;
  /** Part of the credit used on this invoice (≤ subtotal). */
  readonly creditApplied: string;
  /** Credit left for later invoices. */
  readonly creditRemaining: string;
  /** `subtotal − creditApplied`; never negative. */
  readonly total: string;
  /** Usage above Community's hard allowances: reported, never billed. */
  readonly unbilledOverLimit: readonly Metric[];
}

/**
 * Builds the invoice of one month. Throws {@link InvalidArgumentError} / `InvalidAmountError`
 * for malformed input (ids, period, amounts), which is a caller bug.
 * @example
 * const invoice = buildMonthlyInvoice({ invoiceId: 'inv-2025-03-c1', customerId: 'c1',
 *   tier: 'professional', period: '2025-03', usage: ledger.totals });
 */
export function buildMonthlyInvoice(input: MonthlyInvoiceInput): Invoice {
  if (!isSafeId(input.invoiceId)) throw new InvalidArgumentError('invoiceId', 'must be a safe id');
  if (!isSafeId(input.customerId)) throw new InvalidArgumentError('customerId', 'must be a safe id');
  if (!PERIOD_PATTERN.test(input.period)) throw new InvalidArgumentError('period', `"${input.period}" is not YYYY-MM`);
  const priced = priceUsage(input.tier, input.usage);
  const adjustments = (input.adjustments ?? []).map((adjustment, index): ChargeLine => {
    if (!DECIMAL_STRING_PATTERN.test(adjustment.amount)) {
      throw new InvalidArgumentError(
        `adjustments[${index}].amount`,
        `"${adjustment.amount}" is not a non-negative decimal string; refunds go in \`credit\`, not as negative lines`,
      );
    }
    const amount = formatCents(new Dec(adjustment.amount));
    return { code: adjustment.code, description: adjustment.description, quantity: '1', unitPrice: amount, amount };
  });
  const lines = [...priced.lines, ...adjustments];
  const subtotal = sum(lines.map((l) => new Dec(l.amount)));
  const credit = new Dec(creditOf(input.credit));
  const creditApplied = Dec.min(credit, subtotal);
  return {
    invoiceId: input.invoiceId,
    customerId: input.customerId,
    tier: input.tier,
    period: input.period,
    currency: 'USD',
    lines,
    subtotal: formatCents(subtotal),
    creditApplied: formatCents(creditApplied),
    creditRemaining: formatCents(credit.minus(creditApplied)),
    total: formatCents(subtotal.minus(creditApplied)),
    unbilledOverLimit: priced.overLimit,
  };
}

function creditOf(credit: string | undefined): string {
  if (credit === undefined) return '0';
  if (!DECIMAL_STRING_PATTERN.test(credit)) {
    throw new InvalidArgumentError('credit', `"${credit}" is not a non-negative decimal string`);
  }
  return formatCents(new Dec(credit));
}
