import { Dec } from '../../src/marketplace/money.ts';
import { METRICS, PRICE_PLANS } from '../../src/marketplace/pricing.ts';
import { TIERS, UNLIMITED, type TierId } from '../../src/marketplace/tiers.ts';
import { billingPeriodOf, countUsage, createPeriodUsage, ledgerForPeriod, type PeriodUsage } from '../../src/marketplace/usage-ledger.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { assign, setup } from 'xstate';
import { defineGovernor, eventTime, NO_RECORDS, type RecordLookup } from './governor-kit.ts';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent, type DomainTimeout } from './domain-machine.ts';
import { migrateUsageKeys, usageKeysOf, usageSeen } from './usage-records.ts';
import { parseSku, planOfSubscription } from './plan.ts';
import { slaCredit, slaMeasurementOf } from './sla-credit.ts';
import { perEvent } from './per-event.ts';

/**
 * The QuotaSla governor: a customer's usage against the limits of their tier.
 *
 *   WithinLimits ⇄ Warning (≥ 80 %) ⇄ Exceeded (over a soft limit: billed as overage)
 *                → Throttled (over a hard limit; retry after 1 h) → CircuitBreaker (another hard
 *                  breach while throttled; 1 h) → Exceeded
 *
 * A subscription, a plan change or a counted report leads to wherever the month's usage stands
 * against the tier's limits (`usageLevelIs`, one guarded transition per level), except that a
 * report never ends throttling: only its timer does. A breach report escalates, never relaxes.
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

/** The levels a month's usage can stand at ({@link evaluateUsage}); the breaker is entered only by a breach. */
const USAGE_LEVELS = ['WithinLimits', 'Warning', 'Exceeded', 'Throttled'] as const;
export type UsageLevel = (typeof USAGE_LEVELS)[number];

/** Where a month's usage stands against a tier's allowances: the worst metric decides. */
export function evaluateUsage(tier: TierId, ledger: PeriodUsage): UsageLevel {
  let worst: UsageLevel = 'WithinLimits';
  const rank: Record<UsageLevel, number> = { WithinLimits: 0, Warning: 1, Exceeded: 2, Throttled: 3 };
  for (const metric of METRICS) {
    const pricing = PRICE_PLANS[tier].metrics[metric];
    if (pricing.included === UNLIMITED) continue;
    const limit = new Dec(pricing.included);
    // An allowance of 0 with a rate is pay-per-use, not a quota.
    if (limit.eq(0) && pricing.overageRate !== null) continue;
    const used = new Dec(ledger.totals[metric]);
    let state: UsageLevel = 'WithinLimits';
    if (used.gt(limit)) state = pricing.overageRate === null ? 'Throttled' : 'Exceeded';
    else if (limit.gt(0) && used.gte(limit.times(WARNING_SHARE))) state = 'Warning';
    if (rank[state] > rank[worst]) worst = state;
  }
  return worst;
}

type QuotaEvent =
  | DomainEvent<'CustomerSubscribes', { sku: unknown; tier: unknown }>
  | DomainEvent<'CustomerUpgrades', { fromSku: unknown; toSku: unknown }>
  | DomainEvent<'UsageRecorded', { metric: unknown; quantity: unknown; idempotencyKey: unknown }>
  | DomainEvent<'UsageExceedsQuota', { resource: unknown; usage: unknown; limit: unknown }>
  | DomainEvent<'ManualSuspension'>
  | DomainEvent<'SuspensionLifted'>
  | DomainTimeout;

type Ctx = DomainContext<D>;

const INITIAL: D = { tier: null, ledger: createPeriodUsage('1970-01'), lastBreach: null };

/** The month's ledger at the event's business time: the month's first event resets it; a late report of an earlier month counts in the current one. */
const ledgerAt = (data: D, event: QuotaEvent): PeriodUsage => (event.type === 'timeout' ? data.ledger : ledgerForPeriod(data.ledger, billingPeriodOf(eventTime(event))).ledger);

/** The plan a subscription asks for, or why it cannot be had. */
const planOf = (event: QuotaEvent) => (event.type === 'CustomerSubscribes' ? planOfSubscription(event) : { error: `${event.type} is not a subscription` });

/** The tier a plan change moves to, or why it is refused: the limits it was computed on must be the ones in force. */
function tierChange(data: D, event: QuotaEvent): { readonly tier: TierId } | { readonly error: string } {
  if (event.type !== 'CustomerUpgrades' || !data.tier) return { error: 'no plan to change' };
  const from = parseSku(event.fromSku);
  const to = parseSku(event.toSku);
  if ('error' in from) return { error: `fromSku: ${from.error}` };
  if ('error' in to) return { error: `toSku: ${to.error}` };
  if (from.tier !== data.tier) return { error: `limits are ${data.tier}'s, not ${from.tier}'s` };
  return { tier: to.tier };
}

/**
 * A usage report counted into the month's ledger, once per idempotency key ever: the key's
 * record says whether it was counted (a record that is not a fingerprint throws, never "not
 * counted"). A report on a customer without a plan counts nothing: its guard refuses it first.
 */
const counted = perEvent(({ data, records }: Ctx, event: QuotaEvent) => {
  if (event.type !== 'UsageRecorded') throw new TypeError(`${event.type} is not a usage report`);
  const { metric, quantity, idempotencyKey } = event;
  return countUsage(ledgerAt(data, event), { metric, quantity, idempotencyKey }, usageSeen(records, event));
});

/** Where the month's usage stands after the event, on the tier in force after it. */
const levelAfter = perEvent((context: Ctx, event: QuotaEvent): UsageLevel => {
  const { data } = context;
  switch (event.type) {
    case 'CustomerSubscribes': {
      const plan = planOf(event);
      return 'error' in plan ? 'WithinLimits' : evaluateUsage(plan.tier, ledgerAt(data, event));
    }
    case 'CustomerUpgrades': {
      const change = tierChange(data, event);
      return 'error' in change ? 'WithinLimits' : evaluateUsage(change.tier, data.ledger);
    }
    case 'UsageRecorded': {
      const result = counted(context, event);
      return result.status === 'recorded' && data.tier ? evaluateUsage(data.tier, result.ledger) : 'WithinLimits';
    }
    default:
      return 'WithinLimits';
  }
});

/** A breach report as a breach: the problem with it, or the breach. */
function breachOf(event: QuotaEvent): { readonly error: string } | { readonly resource: string; readonly usage: number; readonly limit: number } {
  if (event.type !== 'UsageExceedsQuota') return { error: `${event.type} is not a breach report` };
  const { resource, usage, limit } = event;
  if (typeof resource !== 'string' || resource.length === 0) return { error: 'resource must be a non-empty string' };
  if (typeof usage !== 'number' || typeof limit !== 'number' || !Number.isFinite(usage) || !Number.isFinite(limit) || usage < 0 || limit < 0) {
    return { error: 'usage and limit must be finite numbers ≥ 0' };
  }
  if (usage <= limit) return { error: `usage ${usage} does not exceed the limit ${limit}` };
  return { resource, usage, limit };
}

/**
 * The customer's quota, written out. Subscriptions, plan changes and usage reports lead to
 * wherever the month's usage stands against the tier's limits (`usageLevelIs`, one guarded
 * transition per level); breach reports escalate; throttling ends with its timer only.
 */
export const quotaSlaDomain = setup({
  types: {} as { context: Ctx; events: QuotaEvent },
  guards: {
    noPlan: ({ context }) => context.data.tier === null,
    planRefused: ({ event }) => 'error' in planOf(event),
    changeRefused: ({ context, event }) => 'error' in tierChange(context.data, event),
    /** The report's key was counted before, for the same usage. */
    usageCounted: ({ context, event }) => counted(context, event).status === 'duplicate',
    /** A malformed report, or a key first used for other usage. */
    usageRefused: ({ context, event }) => {
      const { status } = counted(context, event);
      return status !== 'recorded' && status !== 'duplicate';
    },
    /** The month's usage, after the event, stands at `level` of the tier's limits. */
    usageLevelIs: ({ context, event }, params: { level: UsageLevel }) => levelAfter(context, event) === params.level,
    breachRefused: ({ event }) => 'error' in breachOf(event),
    /** The breached limit throttles (hard) rather than being billed as overage (soft). */
    hardLimit: ({ context, event }) => {
      const breach = breachOf(event);
      return 'resource' in breach && context.data.tier !== null && isHardLimit(context.data.tier, breach.resource);
    },
  },
  actions: {
    reject: assign((_, params: { reason: string }) => ({ outcome: outcome.rejected(params.reason) })),
    notApplicable: assign((_, params: { reason: string }) => ({ outcome: outcome.notApplicable(params.reason) })),
    /** The subscription's tier; it opens the month's count at its business time (as Billing's ledger). */
    subscribe: assign(({ context, event }) => {
      const plan = planOf(event);
      return { data: { ...context.data, tier: 'error' in plan ? context.data.tier : plan.tier, ledger: ledgerAt(context.data, event) }, outcome: outcome.applied };
    }),
    /** The new tier's limits apply at once, and the reply says so. */
    changeTier: assign(({ context, event }) => {
      const change = tierChange(context.data, event);
      return { data: { ...context.data, tier: 'error' in change ? context.data.tier : change.tier }, outcome: { ...outcome.applied, facts: { tierChanged: true } } };
    }),
    /** The usage counted, and its key a record, so the same report never counts twice. */
    count: assign(({ context, event }) => {
      const result = counted(context, event);
      const [key] = event.type === 'UsageRecorded' ? usageKeysOf(event) : [];
      if (result.status !== 'recorded' || key === undefined) return { outcome: outcome.rejected('the report cannot be counted (a governor bug)') };
      return { data: { ...context.data, ledger: result.ledger }, outcome: { ...outcome.applied, records: { [key]: result.fingerprint } } };
    }),
    recordBreach: assign(({ context, event }) => {
      const breach = breachOf(event);
      if ('error' in breach || !context.data.tier) return { outcome: outcome.rejected('the breach cannot be recorded (a governor bug)') };
      return { data: { ...context.data, lastBreach: { ...breach, hard: isHardLimit(context.data.tier, breach.resource) } }, outcome: outcome.applied };
    }),
  },
}).createMachine({
  id: 'QuotaSla',
  initial: 'WithinLimits',
  context: domainContext(INITIAL),
  on: {
    // The entitlement stops the usage; the month's counts and limits stand.
    ManualSuspension: { actions: { type: 'notApplicable', params: { reason: 'a suspension changes no quota' } } },
    SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'a suspension changes no quota' } } },
  },
  states: {
    // Only here can there be no plan yet: nothing leaves WithinLimits before a subscription.
    WithinLimits: {
      on: {
        CustomerSubscribes: [refusePlan(), ...toUsageLevel('WithinLimits', 'subscribe')],
        CustomerUpgrades: [refuseChange(), ...toUsageLevel('WithinLimits', 'changeTier')],
        UsageRecorded: [
          { guard: 'noPlan', actions: { type: 'reject', params: { reason: 'no plan: usage has no quota to count against' } } },
          ...refuseUsage(),
          ...toUsageLevel('WithinLimits', 'count'),
        ],
        UsageExceedsQuota: [
          { guard: 'noPlan', actions: { type: 'reject', params: { reason: 'no plan: there is no quota to exceed' } } },
          refuseBreach(),
          { guard: 'hardLimit', target: 'Throttled', actions: 'recordBreach' },
          { target: 'Exceeded', actions: 'recordBreach' },
        ],
      },
    },
    Warning: {
      on: {
        CustomerSubscribes: [refusePlan(), ...toUsageLevel('Warning', 'subscribe')],
        CustomerUpgrades: [refuseChange(), ...toUsageLevel('Warning', 'changeTier')],
        UsageRecorded: [...refuseUsage(), ...toUsageLevel('Warning', 'count')],
        UsageExceedsQuota: [refuseBreach(), { guard: 'hardLimit', target: 'Throttled', actions: 'recordBreach' }, { target: 'Exceeded', actions: 'recordBreach' }],
      },
    },
    // Over a soft limit: billed as overage; a soft breach changes nothing more.
    Exceeded: {
      on: {
        CustomerSubscribes: [refusePlan(), ...toUsageLevel('Exceeded', 'subscribe')],
        CustomerUpgrades: [refuseChange(), ...toUsageLevel('Exceeded', 'changeTier')],
        UsageRecorded: [...refuseUsage(), ...toUsageLevel('Exceeded', 'count')],
        UsageExceedsQuota: [refuseBreach(), { guard: 'hardLimit', target: 'Throttled', actions: 'recordBreach' }, { actions: 'recordBreach' }],
      },
    },
    // Throttling ends with its timer, not with a report; another hard breach trips the breaker.
    Throttled: {
      on: {
        CustomerSubscribes: [refusePlan(), ...toUsageLevel('Throttled', 'subscribe')],
        CustomerUpgrades: [refuseChange(), ...toUsageLevel('Throttled', 'changeTier')],
        UsageRecorded: [...refuseUsage(), { guard: { type: 'usageLevelIs', params: { level: 'Throttled' } }, target: 'CircuitBreaker', actions: 'count' }, { actions: 'count' }],
        UsageExceedsQuota: [refuseBreach(), { guard: 'hardLimit', target: 'CircuitBreaker', actions: 'recordBreach' }, { actions: 'recordBreach' }],
        timeout: { target: 'Exceeded' },
      },
    },
    CircuitBreaker: {
      on: {
        CustomerSubscribes: [refusePlan(), ...toUsageLevel('CircuitBreaker', 'subscribe')],
        CustomerUpgrades: [refuseChange(), ...toUsageLevel('CircuitBreaker', 'changeTier')],
        UsageRecorded: [...refuseUsage(), { actions: 'count' }],
        UsageExceedsQuota: [refuseBreach(), { actions: 'recordBreach' }],
        timeout: { target: 'Exceeded' },
      },
    },
  },
});

/**
 * The transitions of an event that re-evaluates the month's usage (a subscription, a plan change,
 * a counted report): one per level it can lead to, taking `action`; the level the state is
 * already at stays.
 */
function toUsageLevel(from: QuotaState, action: 'subscribe' | 'changeTier' | 'count') {
  return USAGE_LEVELS.map((level) => ({ guard: { type: 'usageLevelIs', params: { level } }, ...(level === from ? {} : { target: level }), actions: action }) as const);
}

function refusePlan() {
  return { guard: 'planRefused', actions: { type: 'reject', params: ({ event }: { event: QuotaEvent }) => ({ reason: errorOf(planOf(event)) }) } } as const;
}

function refuseChange() {
  return { guard: 'changeRefused', actions: { type: 'reject', params: ({ context, event }: { context: Ctx; event: QuotaEvent }) => ({ reason: errorOf(tierChange(context.data, event)) }) } } as const;
}

/** A report counted already is not applicable (the same answer every time); a malformed one is refused. */
function refuseUsage() {
  return [
    { guard: 'usageCounted', actions: { type: 'notApplicable', params: ({ event }: { event: QuotaEvent }) => ({ reason: `usage ${String(event.type === 'UsageRecorded' ? event.idempotencyKey : undefined)} is counted already` }) } },
    {
      guard: 'usageRefused',
      actions: { type: 'reject', params: ({ context, event }: { context: Ctx; event: QuotaEvent }) => ({ reason: messageOf(counted(context, event)) }) },
    },
  ] as const;
}

function refuseBreach() {
  return { guard: 'breachRefused', actions: { type: 'reject', params: ({ event }: { event: QuotaEvent }) => ({ reason: errorOf(breachOf(event)) }) } } as const;
}

const errorOf = (result: object): string => ('error' in result ? String(result.error) : 'refused');
const messageOf = (result: object): string => ('message' in result ? String(result.message) : 'refused');

export const quotaSlaGovernor = governorFromMachine<S, D>(quotaSlaDomain, {
  kind: 'QuotaSla',
  init: () => INITIAL,
  recordKeys: usageKeysOf,
  migrateData: (data) => migrateUsageKeys(data),
  // Operational waits: they protect the service now, whatever time the breach says it was.
  timing: {
    Throttled: { ms: THROTTLE_MS, clock: 'node' },
    CircuitBreaker: { ms: THROTTLE_MS, clock: 'node' },
  },
  facts: (state) => ({ quota: state }),
  queries: {
    /** The tier's limits and this month's usage. */
    limits: ({ state, data }) => ({ state, tier: data.tier, limits: data.tier ? TIERS[data.tier].limits : null, usage: data.ledger.totals, period: data.ledger.period }),
    /** The SLA credit a month's measurements earn on this customer's tier. */
    sla: ({ data }, event) => {
      if (!data.tier) return { error: 'no plan' };
      const measured = slaMeasurementOf(event);
      return 'error' in measured ? measured : slaCredit(data.tier, measured);
    },
  },
});

/** The pure decision of the QuotaSla governor: its machine, taken one event. */
export const decideQuota = (state: S, data: D, event: LifecycleEvent, customerId = event.customerId, records: RecordLookup = NO_RECORDS) =>
  quotaSlaGovernor.decide(state, data, event, customerId, records);

export const quotaSlaMachine = defineGovernor(quotaSlaGovernor);
