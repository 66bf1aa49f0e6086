// The named export, not the default: under NodeNext TypeScript types decimal.js's default import
// as CommonJS `module.exports`, while Node hands over the ESM build's class.
import { Decimal } from 'decimal.js';
import { InvalidAmountError } from './errors.ts';

/**
 * Exact decimal money.
 *
 * Amounts cross the API as decimal strings ("616.00") and are computed with decimal.js, never
 * with binary floating point. One rounding rule, applied once per invoice line (and per proration
 * amount): **ROUND_HALF_UP to the cent** — ties go away from zero, as Kill Bill and most
 * accountants do. Totals are sums of already-rounded lines, so lines always add up to the total.
 */

/**
 * A private decimal.js constructor: precision and rounding are configured here and nowhere else,
 * so no other module's `Decimal.set` can change how money rounds.
 */
export const Dec = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -60, toExpPos: 60 });
/** An exact decimal value. */
export type Dec = Decimal;

/** The rounding rule, for documentation and display. */
export const ROUNDING_RULE = 'ROUND_HALF_UP to 2 decimal places (the cent), per invoice line' as const;

/** An unsigned decimal string: digits, an optional fraction, no exponent, no leading zeros. */
export const DECIMAL_STRING_PATTERN = /^(?:0|[1-9][0-9]{0,29})(?:\.[0-9]{1,30})?$/;

/** An ISO 4217-shaped currency code: three upper-case letters. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/** A value accepted as a non-negative quantity: a decimal string or a finite number ≥ 0. */
export type Quantity = string | number;

/**
 * Parses a non-negative decimal string into an exact value.
 * Throws {@link InvalidAmountError} for anything else (including numbers: money is never a float).
 */
export function parseAmount(value: unknown, what = 'amount'): Dec {
  if (typeof value !== 'string' || !DECIMAL_STRING_PATTERN.test(value)) {
    throw new InvalidAmountError(what, value, 'a non-negative decimal string like "12.50"');
  }
  return new Dec(value);
}

/**
 * Parses a non-negative quantity (usage: executions, GB-hours…). Numbers are accepted because
 * counters are naturally numbers; they are read through their shortest decimal spelling, so
 * `0.1` is exactly one tenth.
 */
export function parseQuantity(value: unknown, what = 'quantity'): Dec {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new InvalidAmountError(what, value, 'a finite number ≥ 0');
    return new Dec(value);
  }
  return parseAmount(value, what);
}

/** Rounds to the cent with {@link ROUNDING_RULE}. */
export function roundToCents(value: Dec): Dec {
  return value.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

/** Rounds to the cent and writes exactly two decimals: `"616.00"`. */
export function formatCents(value: Dec): string {
  return roundToCents(value).toFixed(2);
}

/** Writes an exact value in plain notation (no exponent), trailing zeros removed: `"0.00001"`. */
export function formatDecimal(value: Dec): string {
  return value.toFixed();
}

/** Exact sum of decimal values. */
export function sum(values: Iterable<Dec>): Dec {
  let total = new Dec(0);
  for (const value of values) total = total.plus(value);
  return total;
}
