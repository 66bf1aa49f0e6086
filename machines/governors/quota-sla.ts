import { Dec } from '../../src/marketplace/money.ts';
import { METRICS, PRICE_PLANS } from '../../src/marketplace/pricing.ts';
import { TIERS, UNLIMITED, type TierId } from '../../src/marketplace/tiers.ts';
import { billingPeriodOf, countUsage, createPeriodUsage, ledgerForPeriod, type PeriodUsage } from '../../src/marketplace/usage-ledger.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime, NO_RECORDS, type Decision, type GovernorDefinition, type RecordLookup } from './governor-kit.ts';
import { migrateUsageKeys, usageKeysOf, usageSeen } from './usage-records.ts';
import { parseSku, planOfSubscription } from './plan.ts';
import { slaCredit, type SlaMeasurement } from './sla-credit.ts';

/**
 * The QuotaSla governor: a customer's usage against the limits of their tier.
 *
 *   WithinLimits → Warning (≥ 80 %) → Exceeded (over a soft limit: billed as overage)
 *                → Throttled (over a hard limit; retry after 1 h) → CircuitBreaker (another hard
 *                  breach while throttled; 1 h) → Exceeded
 *
 * Limits are the tier's allowances (`src/marketplace/pricing.ts`): an allowance with an overage
 * rate is soft, one without (Community's) is hard; pure pay-per-use metrics (no allowance) have no
 * quota. Usage is counted per calendar month; the month's first report resets it. Each report
 * counts once ever: its idempotency key is a keyed record beside the state (`usage-records.ts`).
 *
 * Fixed from the seeds: a limit of 0 is compared, never divided by (no Infinity, no NaN), and an
 * upgrade or downgrade changes the tier and re-evaluates at once (replying `tierChanged`).
 * Dropped: ResetPending and Restored — the reset is the month's first report, and "restored" is
 * WithinLimits. Per-tenant rate limits in Redis belong to the transport (TODO there).
 */
export const QUOTA_STATES = ['WithinLimits', 'Warning', 'Exceeded', 'Throttled', 'CircuitBreaker'] as const;
export type QuotaState = (typeof QUOTA_STATES)[number];

export interface QuotaData {
  readonly tier: TierId | null;
  /** This month's totals (the keys counted are records, not data). */
  readonly ledger: PeriodUsage;
  readonly lastBreach: { readonly resource: string; readonly usage: number; readonly limit: number; readonly hard: boolean } | null;
}

type S = QuotaState;
type D = QuotaData;

/** Warnings start at this share of a limit. */
export const WARNING_SHARE = '0.8';
/** Retry-after of a throttled customer (seeds: 3600 s). */
export const THROTTLE_MS = 3_600_000;

/** Resources with soft limits besides the metered ones (seeds: monthly requests are soft). */
const SOFT_RESOURCES = new Set(['requests', 'monthly_requests']);

/** Whether a breach of `resource` on `tier` throttles (hard) or is billed as overage (soft). */
export function isHardLimit(tier: TierId, resource: string): boolean {
  if ((METRICS as readonly string[]).includes(resource)) {
    return PRICE_PLANS[tier].metrics[resource as (typeof METRICS)[number]].overageRate === null;
  }
  // Concurrency, storage, workflows, request rate, and anything unknown: never billed, so hard.
  return !SOFT_RESOURCES.has(resource);
}

/** Where a month's usage stands against a tier's allowances: the worst metric decides. */
export function evaluateUsage(tier: TierId, ledger: PeriodUsage): S {
  let worst: S = 'WithinLimits';
  const rank: Record<S, number> = { WithinLimits: 0, Warning: 1, Exceeded: 2, Throttled: 3, CircuitBreaker: 4 };
  for (const metric of METRICS) {
    const pricing = PRICE_PLANS[tier].metrics[metric];
    if (pricing.included === UNLIMITED) continue;
    const limit = new Dec(pricing.included);
    // An allowance of 0 with a rate is pay-per-use, not a quota.
    if (limit.eq(0) && pricing.overageRate !== null) continue;
    const used = new Dec(ledger.totals[metric]);
    let state: S = 'WithinLimits';
    if (used.gt(limit)) state = pricing.overageRate === null ? 'Throttled' : 'Exceeded';
    else if (limit.gt(0) && used.gte(limit.times(WARNING_SHARE))) state = 'Warning';
    if (rank[state] > rank[worst]) worst = state;
  }
  return worst;
}

const applied = (state: S, data: D, facts?: Decision<S, D>['facts']): Decision<S, D> => ({ status: 'applied', next: { state, data }, ...(facts ? { facts } : {}) });
const rejected = (reason: string): Decision<S, D> => ({ status: 'rejected', reason });
const notApplicable = (reason: string): Decision<S, D> => ({ status: 'not_applicable', reason });
const THROTTLING: readonly S[] = ['Throttled', 'CircuitBreaker'];

/** After a hard breach: throttle, or trip the breaker when the customer was throttled already. */
const afterHardBreach = (state: S): S => (THROTTLING.includes(state) ? 'CircuitBreaker' : 'Throttled');

function record(state: S, data: D, event: LifecycleEvent, records: RecordLookup): Decision<S, D> {
  if (!data.tier) return rejected('no plan: usage has no quota to count against');
  // The monthly reset, by the report's business time; a late report of an earlier month counts in the current one.
  const { ledger } = ledgerForPeriod(data.ledger, billingPeriodOf(eventTime(event)));
  const result = countUsage(
    ledger,
    { metric: event.metric as never, quantity: event.quantity as string | number, idempotencyKey: event.idempotencyKey as string },
    usageSeen(records, event),
  );
  if (result.status === 'duplicate') return notApplicable(`usage ${String(event.idempotencyKey)} is counted already`);
  if (result.status !== 'recorded') return rejected(result.message);
  const evaluated = evaluateUsage(data.tier, result.ledger);
  // Throttling ends with its timer, not with a report; another hard breach trips the breaker.
  const next = THROTTLING.includes(state) ? (evaluated === 'Throttled' ? afterHardBreach(state) : state) : evaluated;
  return { ...applied(next, { ...data, ledger: result.ledger }), records: { [usageKeyOf(event)]: result.fingerprint } };
}

const usageKeyOf = (event: LifecycleEvent) => usageKeysOf(event)[0]!;

function breach(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  if (!data.tier) return rejected('no plan: there is no quota to exceed');
  const { resource, usage, limit } = event;
  if (typeof resource !== 'string' || resource.length === 0) return rejected('resource must be a non-empty string');
  if (typeof usage !== 'number' || typeof limit !== 'number' || !Number.isFinite(usage) || !Number.isFinite(limit) || usage < 0 || limit < 0) {
    return rejected('usage and limit must be finite numbers ≥ 0');
  }
  if (usage <= limit) return rejected(`usage ${usage} does not exceed the limit ${limit}`);
  const hard = isHardLimit(data.tier, resource);
  const next = { ...data, lastBreach: { resource, usage, limit, hard } };
  if (hard) return applied(afterHardBreach(state), next);
  return applied(state === 'WithinLimits' || state === 'Warning' ? 'Exceeded' : state, next);
}

/** The pure decision of the QuotaSla governor. */
export function decideQuota(state: S, data: D, event: LifecycleEvent, _customerId?: string, records: RecordLookup = NO_RECORDS): Decision<S, D> {
  switch (event.type) {
    case 'CustomerSubscribes': {
      const plan = planOfSubscription(event);
      if ('error' in plan) return rejected(plan.error);
      // The subscription opens the month's count at its business time (as Billing's ledger).
      const { ledger } = ledgerForPeriod(data.ledger, billingPeriodOf(eventTime(event)));
      return applied(evaluateUsage(plan.tier, ledger), { ...data, tier: plan.tier, ledger });
    }
    case 'CustomerUpgrades': {
      if (!data.tier) return rejected('no plan to change');
      const from = parseSku(event.fromSku);
      const to = parseSku(event.toSku);
      if ('error' in from) return rejected(`fromSku: ${from.error}`);
      if ('error' in to) return rejected(`toSku: ${to.error}`);
      if (from.tier !== data.tier) return rejected(`limits are ${data.tier}'s, not ${from.tier}'s`);
      return applied(evaluateUsage(to.tier, data.ledger), { ...data, tier: to.tier }, { tierChanged: true });
    }
    case 'UsageRecorded':
      return record(state, data, event, records);
    case 'UsageExceedsQuota':
      return breach(state, data, event);
    case 'ManualSuspension':
    case 'SuspensionLifted':
      // The entitlement stops the usage; the month's counts and limits stand.
      return notApplicable('a suspension changes no quota');
    default:
      return notApplicable(`QuotaSla does not handle ${event.type}`);
  }
}

export const quotaSlaGovernor: GovernorDefinition<S, D> = {
  kind: 'QuotaSla',
  states: QUOTA_STATES,
  initial: 'WithinLimits',
  init: () => ({ tier: null, ledger: createPeriodUsage('1970-01'), lastBreach: null }),
  decide: decideQuota,
  recordKeys: usageKeysOf,
  migrateData: (data) => migrateUsageKeys(data),
  targets: QUOTA_STATES,
  timeouts: {
    // Operational waits: they protect the service now, whatever time the breach says it was.
    Throttled: { ms: THROTTLE_MS, to: 'Exceeded', clock: 'node' },
    CircuitBreaker: { ms: THROTTLE_MS, to: 'Exceeded', clock: 'node' },
  },
  facts: (state) => ({ quota: state }),
  queries: {
    /** The tier's limits and this month's usage. */
    limits: ({ state, data }) => ({ state, tier: data.tier, limits: data.tier ? TIERS[data.tier].limits : null, usage: data.ledger.totals, period: data.ledger.period }),
    /** The SLA credit a month's measurements earn on this customer's tier. */
    sla: ({ data }, event) => (data.tier ? slaCredit(data.tier, event as unknown as SlaMeasurement) : { error: 'no plan' }),
  },
};

export const quotaSlaMachine = defineGovernor(quotaSlaGovernor);
