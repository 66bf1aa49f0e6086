import { InvalidArgumentError } from './errors.ts';
import { getOwn, isSafeId } from './ids.ts';
import { Dec, formatDecimal, parseQuantity } from './money.ts';
import { METRICS, type Metric } from './pricing.ts';

/**
 * Idempotent usage recording for one customer and one billing month, as plain data.
 *
 * Every record carries the producer's idempotency key. A key seen before counts once: a repeat
 * with the same metric and quantity is a `duplicate`, a repeat with different ones is a
 * `conflict` (the producer reused a key — as Stripe, we compare the parameters).
 *
 * Where the keys are kept is the caller's: {@link countUsage} takes the fingerprint a key was
 * first used for (`undefined`: never) and gives the one to keep, so the governors keep their
 * keys as keyed records beside their states, forever (`usage:<key>`, {@link usageRecordKey}),
 * and their `PeriodUsage` stays the same size however many reports a customer sends.
 * {@link recordUsage} keeps them in the ledger itself (this month's and the previous month's, so
 * a redelivery across the month boundary is still recognised), for callers without a store.
 */

/** A billing period: a UTC calendar month, `YYYY-MM`. */
export const PERIOD_PATTERN = /^[0-9]{4}-(?:0[1-9]|1[0-2])$/;

/** Usage of one period: its totals, without the keys counted in them. */
export interface PeriodUsage {
  readonly period: string;
  /** Exact totals per metric, decimal strings. */
  readonly totals: Readonly<Record<Metric, string>>;
}

/** Usage of one period, with the idempotency keys counted in it and the period before. */
export interface UsageLedger extends PeriodUsage {
  /** Idempotency keys of this period → `metric=quantity` fingerprint. */
  readonly seen: Readonly<Record<string, string>>;
  /** Idempotency keys of the previous period, kept across the reset. */
  readonly previousSeen: Readonly<Record<string, string>>;
}

/** A usage report (the payload of a `UsageRecorded` event). */
export interface UsageRecord {
  readonly metric: Metric;
  readonly quantity: string | number;
  /** The producer's idempotency key ({@link SAFE_ID_PATTERN}). */
  readonly idempotencyKey: string;
}

/**
 * A usage report as it arrives, each field still to be checked: {@link countUsage} checks them
 * (a report that is not a {@link UsageRecord} is `invalid`, with the reason).
 */
export type UsageReport = { readonly [K in keyof UsageRecord]: unknown };

/** The outcome of {@link recordUsage}; `ledger` is the ledger to keep in every case. */
export type RecordUsageResult<L extends PeriodUsage = UsageLedger> =
  | { readonly status: 'recorded'; readonly ledger: L }
  | { readonly status: 'duplicate'; readonly ledger: L }
  | { readonly status: 'conflict'; readonly ledger: L; readonly message: string }
  | { readonly status: 'invalid'; readonly ledger: L; readonly message: string };

/** The outcome of {@link countUsage}: a recorded report gives the `fingerprint` to keep under its key. */
export type CountUsageResult<L extends PeriodUsage> = Exclude<RecordUsageResult<L>, { status: 'recorded' }> | { readonly status: 'recorded'; readonly ledger: L; readonly fingerprint: string };

/** The keyed record (`putRecord`) a usage idempotency key is kept under, beside a governor's state. */
export function usageRecordKey(idempotencyKey: string): string {
  return `usage:${idempotencyKey}`;
}

/** The billing period containing `epochMs`, in UTC. */
export function billingPeriodOf(epochMs: number): string {
  const date = new Date(epochMs);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError('epochMs', `${epochMs} is not a valid time`);
  return date.toISOString().slice(0, 7);
}

/** No usage yet in `period` (`YYYY-MM`). */
export function createPeriodUsage(period: string): PeriodUsage {
  checkPeriod(period);
  return { period, totals: zeroTotals() };
}

/** An empty ledger for `period` (`YYYY-MM`). */
export function createUsageLedger(period: string): UsageLedger {
  checkPeriod(period);
  return { period, totals: zeroTotals(), seen: {}, previousSeen: {} };
}

/** Records one usage report, at most once per idempotency key of this period and the one before. Never throws. */
export function recordUsage(ledger: UsageLedger, record: UsageRecord): RecordUsageResult {
  const key = typeof record.idempotencyKey === 'string' ? record.idempotencyKey : '';
  const result = countUsage(ledger, record, getOwn(ledger.seen, key) ?? getOwn(ledger.previousSeen, key));
  if (result.status !== 'recorded') return result;
  return { status: 'recorded', ledger: { ...result.ledger, seen: { ...ledger.seen, [key]: result.fingerprint } } };
}

/**
 * Counts one usage report into `usage`, unless its key was used before: `previous` is the
 * fingerprint it was first used for (`undefined`: never). A recorded report gives the fingerprint
 * to keep under its key. Never throws.
 */
export function countUsage<L extends PeriodUsage>(usage: L, record: UsageReport, previous: string | undefined): CountUsageResult<L> {
  const ledger = usage;
  const { idempotencyKey, metric } = record;
  if (!isSafeId(idempotencyKey)) {
    return { status: 'invalid', ledger, message: 'idempotencyKey must be a safe id (1–128 of A-Z a-z 0-9 . _ : -)' };
  }
  if (!isMetric(metric)) {
    return { status: 'invalid', ledger, message: `metric must be one of ${METRICS.join(', ')}` };
  }
  let quantity: Dec;
  try {
    quantity = parseQuantity(record.quantity, 'quantity');
  } catch (error) {
    return { status: 'invalid', ledger, message: (error as Error).message };
  }
  const fingerprint = `${metric}=${formatDecimal(quantity)}`;
  if (previous !== undefined) {
    if (previous === fingerprint) return { status: 'duplicate', ledger };
    return {
      status: 'conflict',
      ledger,
      message:
        `idempotency key "${idempotencyKey}" was first used for ${previous}, now for ${fingerprint}: ` +
        'use a new key for new usage',
    };
  }
  const totals = { ...ledger.totals, [metric]: formatDecimal(new Dec(ledger.totals[metric]).plus(quantity)) };
  return { status: 'recorded', ledger: { ...ledger, totals }, fingerprint };
}

/**
 * The monthly reset: totals back to zero for `period`, this period's keys kept as the previous
 * period's. Resetting to the same period is a no-op; to an earlier one throws.
 */
export function startNewPeriod<L extends PeriodUsage>(ledger: L, period: string): L {
  checkPeriod(period);
  if (period === ledger.period) return ledger;
  if (period < ledger.period) {
    throw new InvalidArgumentError('period', `${period} is before the ledger's period ${ledger.period}: periods only move forward`);
  }
  const keys = 'seen' in ledger ? { seen: {}, previousSeen: (ledger as unknown as UsageLedger).seen } : {};
  return { ...ledger, period, totals: zeroTotals(), ...keys };
}

/**
 * The ledger for a report in `period`: moved on to it when it is later (the monthly reset, as
 * {@link startNewPeriod}), else unchanged (a late report of an earlier period counts in the
 * current one). `closed`: the totals of the period it left, when it moved.
 */
export function ledgerForPeriod<L extends PeriodUsage>(ledger: L, period: string): { readonly ledger: L; readonly closed: PeriodUsage['totals'] | null } {
  checkPeriod(period);
  if (!(period > ledger.period)) return { ledger, closed: null };
  return { ledger: startNewPeriod(ledger, period), closed: ledger.totals };
}

function isMetric(value: unknown): value is Metric {
  return (METRICS as readonly unknown[]).includes(value);
}

/** Per-metric totals, all zero. */
export function emptyTotals(): Record<Metric, string> {
  return zeroTotals();
}

/** The per-metric sum of two sets of totals (exact decimals). */
export function sumTotals(a: Readonly<Record<Metric, string>>, b: Readonly<Record<Metric, string>>): Record<Metric, string> {
  const out = zeroTotals();
  for (const metric of METRICS) out[metric] = formatDecimal(new Dec(a[metric] ?? '0').plus(b[metric] ?? '0'));
  return out;
}

function zeroTotals(): Record<Metric, string> {
  return { executions: '0', compute_gb_hours: '0', transfer_gb: '0', api_calls: '0' };
}

function checkPeriod(period: string): void {
  if (!PERIOD_PATTERN.test(period)) throw new InvalidArgumentError('period', `"${period}" is not a billing period: use YYYY-MM`);
}
