import { tierChange } from '../../src/marketplace/tiers.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime, type Decision, type GovernorDefinition } from './governor-kit.ts';
import { DAY_MS, REACTIVATION_WINDOW_DAYS, TRIAL_DAYS, parseSku, renewPlan, renewalCheck, subscriptionStart, type Plan } from './plan.ts';

/**
 * The Subscription governor: the term of a customer's subscription.
 *
 *   None → Trial (the tier's trial) → Active ⟲ renewal, up/downgrade → Cancelled (30 d reactivation
 *        window) → Lapsed (365 d) → Archived;   None → Active (Community, a returning customer, or
 *        `trial: false`)
 *
 * Every wait is a business deadline (`business-time.ts`): the trial ends when the plan's first
 * cycle starts, the window closes 30 days after the cancellation's `occurredAt`, the record is
 * archived 365 days after that.
 *
 * The subscription's id is the eventId of the CustomerSubscribes that started it; the subscribe's
 * reply says it (`facts.subscriptionId`, which the orchestrator puts in the event's outcome), and
 * RenewalDue must name it. A subscribe within the reactivation window reactivates the cancelled
 * subscription under its old id; after the window it is a new one, with the new eventId.
 *
 * Kept from the seeds: the 14-day trial (now per tier, from the catalog), the 30-day reactivation window, the billing cycles.
 * Fixed: a change to a free tier is a downgrade like any other (Billing credits it, never a
 * negative charge), and a renewal or change outside the cycle is refused, never wrapped. Dropped:
 * TrialEnded, AwaitingRenewal and RenewalGrace — "renewal approaching" is `renewalCheck`'s window,
 * and an unpaid renewal is Billing's dunning, not a second grace period here.
 */
export const SUBSCRIPTION_STATES = ['None', 'Trial', 'Active', 'Cancelled', 'Lapsed', 'Archived'] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

export interface SubscriptionData {
  /** The eventId of the CustomerSubscribes that started it; RenewalDue must name it. */
  readonly subscriptionId: string | null;
  readonly plan: Plan | null;
  readonly trialUsed: boolean;
  readonly renewals: number;
  readonly cancelledAt: number | null;
}

/** How long a lapsed subscription's record is kept before it is archived (data minimisation). */
export const SUBSCRIPTION_RETENTION_DAYS = 365;

type S = SubscriptionState;
type D = SubscriptionData;

/** `days` after a business time, if it is known. */
const after = (at: number | null, days: number): number | null => (at === null ? null : at + days * DAY_MS);

const applied = (state: S, data: D, facts?: Decision<S, D>['facts']): Decision<S, D> => ({ status: 'applied', next: { state, data }, ...(facts ? { facts } : {}) });
const rejected = (reason: string): Decision<S, D> => ({ status: 'rejected', reason });

function subscribe(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  const start = subscriptionStart(event, data.trialUsed);
  if ('error' in start) return rejected(start.error);
  if (state === 'Trial' || state === 'Active') return rejected(`already subscribed to ${data.plan?.sku}`);
  // Within the reactivation window (the Cancelled state's timeout) it is the same subscription
  // again; after it, a new one. Either way a trial is given once per customer, as Billing does.
  const reactivation = state === 'Cancelled';
  const subscriptionId = reactivation && data.subscriptionId !== null ? data.subscriptionId : event.eventId;
  return applied(
    start.trial ? 'Trial' : 'Active',
    {
      subscriptionId,
      plan: start.plan,
      trialUsed: start.trialUsed,
      renewals: reactivation ? data.renewals : 0,
      cancelledAt: null,
    },
    { subscriptionId, ...(reactivation ? { reactivated: true } : {}) },
  );
}

function changePlan(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  if ((state !== 'Trial' && state !== 'Active') || !data.plan) return rejected('no active subscription to change');
  const from = parseSku(event.fromSku);
  const to = parseSku(event.toSku);
  if ('error' in from) return rejected(`fromSku: ${from.error}`);
  if ('error' in to) return rejected(`toSku: ${to.error}`);
  if (from.sku !== data.plan.sku) return rejected(`the plan is ${data.plan.sku}, not ${from.sku}: the change was computed on a stale plan`);
  if (to.cycle !== data.plan.cycle) return rejected(`changing the billing cycle (${data.plan.cycle} → ${to.cycle}) needs a new subscription`);
  if (tierChange(from.tier, to.tier) === 'none') return rejected(`${to.sku} is the same tier as ${from.sku}`);
  return applied(state, { ...data, plan: { ...data.plan, sku: to.sku, tier: to.tier } }, { tierChanged: true });
}

function renew(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  if (state === 'Trial') return rejected('in trial: the first cycle has not started');
  if (state !== 'Active' || !data.plan) return rejected('no active subscription to renew');
  if (event.subscriptionId !== data.subscriptionId) return rejected(`unknown subscription ${JSON.stringify(event.subscriptionId)}`);
  const check = renewalCheck(data.plan, eventTime(event));
  if (!check.due) return rejected(check.reason);
  return applied('Active', { ...data, plan: renewPlan(data.plan), renewals: data.renewals + 1 });
}

/** The pure decision of the Subscription governor. */
export function decideSubscription(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  switch (event.type) {
    case 'CustomerSubscribes':
      return subscribe(state, data, event);
    case 'CustomerUpgrades':
      return changePlan(state, data, event);
    case 'RenewalDue':
      return renew(state, data, event);
    case 'CustomerCancels':
      if (state !== 'Trial' && state !== 'Active') return rejected('no active subscription to cancel');
      return applied('Cancelled', { ...data, cancelledAt: eventTime(event) });
    case 'ManualSuspension':
    case 'SuspensionLifted':
      // The term runs on; what a suspension stops is the entitlement.
      return { status: 'not_applicable', reason: 'a suspension does not change the subscription term' };
    default:
      return { status: 'not_applicable' };
  }
}

export const subscriptionGovernor: GovernorDefinition<S, D> = {
  kind: 'Subscription',
  states: SUBSCRIPTION_STATES,
  initial: 'None',
  init: () => ({ subscriptionId: null, plan: null, trialUsed: false, renewals: 0, cancelledAt: null }),
  decide: decideSubscription,
  targets: ['Trial', 'Active', 'Cancelled'],
  timeouts: {
    // The trial ends when the first cycle starts (the tier's trial after the subscribe).
    Trial: { ms: TRIAL_DAYS * DAY_MS, to: 'Active', deadline: (data) => data.plan?.cycleStart ?? null },
    Cancelled: { ms: REACTIVATION_WINDOW_DAYS * DAY_MS, to: 'Lapsed', deadline: (data) => after(data.cancelledAt, REACTIVATION_WINDOW_DAYS) },
    // Only what the next subscription needs survives the retention period.
    Lapsed: {
      ms: SUBSCRIPTION_RETENTION_DAYS * DAY_MS,
      to: 'Archived',
      deadline: (data) => after(data.cancelledAt, REACTIVATION_WINDOW_DAYS + SUBSCRIPTION_RETENTION_DAYS),
      update: (data) => ({ ...data, subscriptionId: null, plan: null, cancelledAt: null }),
    },
  },
  facts: (state) => ({ subscription: state.toLowerCase() }),
};

/** The Subscription governor's machine. */
export const subscriptionMachine = defineGovernor(subscriptionGovernor);
