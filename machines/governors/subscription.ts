import { assign, setup } from 'xstate';
import { tierChange } from '../../src/marketplace/tiers.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime } from './governor-kit.ts';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent, type DomainTimeout } from './domain-machine.ts';
import { DAY_MS, REACTIVATION_WINDOW_DAYS, TRIAL_DAYS, parseSku, renewPlan, renewalCheck, subscriptionStart, type Plan } from './plan.ts';

/**
 * The Subscription governor: the term of a customer's subscription.
 *
 *   None → Trial (the tier's trial) → Active ⟲ renewal, up/downgrade → Cancelled (30 d reactivation
 *        window) → Lapsed (365 d) → Archived;   None → Active (Community, a returning customer, or
 *        `trial: false`);   Cancelled → Trial | Active (reactivated);   Lapsed, Archived → Trial | Active
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

type SubscriptionEvent =
  | DomainEvent<'CustomerSubscribes', { sku: unknown; tier: unknown; trial: unknown }>
  | DomainEvent<'CustomerUpgrades', { fromSku: unknown; toSku: unknown }>
  | DomainEvent<'RenewalDue', { subscriptionId: unknown }>
  | DomainEvent<'CustomerCancels'>
  | DomainEvent<'ManualSuspension'>
  | DomainEvent<'SuspensionLifted'>
  | DomainTimeout;

const INITIAL: D = { subscriptionId: null, plan: null, trialUsed: false, renewals: 0, cancelledAt: null };

const timeOf = (event: SubscriptionEvent): number | null => (event.type === 'timeout' ? null : eventTime(event));

/** `days` after a business time, if it is known. */
const after = (at: number | null, days: number): number | null => (at === null ? null : at + days * DAY_MS);

/** What a subscribe starts (`plan.ts`, the rule Billing follows too), or why it cannot. */
function startOf(data: D, event: SubscriptionEvent): ReturnType<typeof subscriptionStart> {
  return event.type === 'CustomerSubscribes' ? subscriptionStart(event, data.trialUsed) : { error: `${event.type} starts no subscription` };
}

/** Why a subscribe cannot start a plan (`plan.ts`'s SKU and tier rules, a malformed `trial`); `null` if it can. */
function startRefusal(data: D, event: SubscriptionEvent): string | null {
  const start = startOf(data, event);
  return 'error' in start ? start.error : null;
}

/** The data a subscribe starts: a new subscription under its eventId, or the cancelled one again (`reactivation`). */
function started(data: D, event: SubscriptionEvent, reactivation: boolean): { data: D; subscriptionId: string } | { error: string } {
  const start = startOf(data, event);
  if ('error' in start || event.type === 'timeout') return { error: 'error' in start ? start.error : 'a timer starts no subscription' };
  // Within the reactivation window (the Cancelled state's timeout) it is the same subscription
  // again; after it, a new one. Either way a trial is given once per customer, as Billing does.
  const subscriptionId = reactivation && data.subscriptionId !== null ? data.subscriptionId : event.eventId;
  return { subscriptionId, data: { subscriptionId, plan: start.plan, trialUsed: start.trialUsed, renewals: reactivation ? data.renewals : 0, cancelledAt: null } };
}

/** Why a plan change cannot apply to the running plan, in the order the reasons are given; `null` if it can. */
function changeRefusal(data: D, event: SubscriptionEvent): string | null {
  if (!data.plan || event.type !== 'CustomerUpgrades') return 'no active subscription to change';
  const from = parseSku(event.fromSku);
  const to = parseSku(event.toSku);
  if ('error' in from) return `fromSku: ${from.error}`;
  if ('error' in to) return `toSku: ${to.error}`;
  if (from.sku !== data.plan.sku) return `the plan is ${data.plan.sku}, not ${from.sku}: the change was computed on a stale plan`;
  if (to.cycle !== data.plan.cycle) return `changing the billing cycle (${data.plan.cycle} → ${to.cycle}) needs a new subscription`;
  if (tierChange(from.tier, to.tier) === 'none') return `${to.sku} is the same tier as ${from.sku}`;
  return null;
}

/** Why a renewal cannot renew the running plan (another subscription, or not due yet); `null` if it can. */
function renewalRefusal(data: D, event: SubscriptionEvent): string | null {
  if (!data.plan || event.type !== 'RenewalDue') return 'no active subscription to renew';
  if (event.subscriptionId !== data.subscriptionId) return `unknown subscription ${JSON.stringify(event.subscriptionId)}`;
  const check = renewalCheck(data.plan, eventTime(event));
  return check.due ? null : check.reason;
}

/**
 * A refusal when `guard` holds, with the reason `why` gives (the check the guard made). Refusals
 * are only `reject` and `notApplicable` actions: the kit and the diagrams read them as never moving.
 */
function refuse<G extends string>(guard: G, why: (data: D, event: SubscriptionEvent) => string | null) {
  return { guard, actions: { type: 'reject', params: ({ context, event }: { context: DomainContext<D>; event: SubscriptionEvent }) => ({ reason: why(context.data, event) ?? '' }) } } as const;
}

const alreadySubscribed = { actions: { type: 'reject', params: ({ context }: { context: DomainContext<D> }) => ({ reason: `already subscribed to ${context.data.plan?.sku}` }) } } as const;

/** The subscription's term, written out: subscribes start or reactivate it, the cycle runs in Active, time ends it. */
export const subscriptionDomain = setup({
  types: {} as { context: DomainContext<D>; events: SubscriptionEvent },
  guards: {
    badStart: ({ context, event }) => startRefusal(context.data, event) !== null,
    /** The plan starts with its tier's trial (offered once, not declined). */
    startsTrial: ({ context, event }) => {
      const start = startOf(context.data, event);
      return !('error' in start) && start.trial;
    },
    changeRefused: ({ context, event }) => changeRefusal(context.data, event) !== null,
    renewalRefused: ({ context, event }) => renewalRefusal(context.data, event) !== null,
  },
  actions: {
    reject: assign((_, params: { reason: string }) => ({ outcome: outcome.rejected(params.reason) })),
    notApplicable: assign((_, params: { reason: string }) => ({ outcome: outcome.notApplicable(params.reason) })),
    /** A new subscription, its id the subscribe's eventId (the reply says it). */
    subscribe: assign(({ context, event }) => {
      const next = started(context.data, event, false);
      if ('error' in next) return { outcome: outcome.rejected(next.error) };
      return { data: next.data, outcome: { status: 'applied', facts: { subscriptionId: next.subscriptionId } } as const };
    }),
    /** The cancelled subscription again, under its old id, its renewals counted on. */
    reactivate: assign(({ context, event }) => {
      const next = started(context.data, event, true);
      if ('error' in next) return { outcome: outcome.rejected(next.error) };
      return { data: next.data, outcome: { status: 'applied', facts: { subscriptionId: next.subscriptionId, reactivated: true } } as const };
    }),
    /** The tier changes within the cycle (Billing prorates it); the cycle and its start stay. */
    changeTier: assign(({ context, event }) => {
      const to = event.type === 'CustomerUpgrades' ? parseSku(event.toSku) : { error: 'not a plan change' };
      if (!context.data.plan || 'error' in to) return { outcome: outcome.rejected('no plan to change (a governor bug)') };
      return { data: { ...context.data, plan: { ...context.data.plan, sku: to.sku, tier: to.tier } }, outcome: { status: 'applied', facts: { tierChanged: true } } as const };
    }),
    /** The next cycle: the same renewal delivered again is not due in it, so no cycle is charged twice. */
    renew: assign(({ context }) => ({
      data: { ...context.data, plan: context.data.plan && renewPlan(context.data.plan), renewals: context.data.renewals + 1 },
      outcome: outcome.applied,
    })),
    /** Opens the reactivation window, counted from the cancellation's business time. */
    cancel: assign(({ context, event }) => ({ data: { ...context.data, cancelledAt: timeOf(event) }, outcome: outcome.applied })),
    /** Retention over: only what the next subscription needs survives (the trial used, the renewals). */
    archive: assign(({ context }) => ({ data: { ...context.data, subscriptionId: null, plan: null, cancelledAt: null } })),
  },
}).createMachine({
  id: 'Subscription',
  initial: 'None',
  context: domainContext(INITIAL),
  // In every state that does not say otherwise: nothing running to change, renew or cancel.
  on: {
    CustomerUpgrades: { actions: { type: 'reject', params: { reason: 'no active subscription to change' } } },
    RenewalDue: { actions: { type: 'reject', params: { reason: 'no active subscription to renew' } } },
    CustomerCancels: { actions: { type: 'reject', params: { reason: 'no active subscription to cancel' } } },
    // The term runs on; what a suspension stops is the entitlement.
    ManualSuspension: { actions: { type: 'notApplicable', params: { reason: 'a suspension does not change the subscription term' } } },
    SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'a suspension does not change the subscription term' } } },
  },
  states: {
    None: {
      on: { CustomerSubscribes: subscribes('subscribe') },
    },
    Trial: {
      on: {
        CustomerSubscribes: [refuse('badStart', startRefusal), alreadySubscribed],
        CustomerUpgrades: [refuse('changeRefused', changeRefusal), { actions: 'changeTier' }],
        RenewalDue: { actions: { type: 'reject', params: { reason: 'in trial: the first cycle has not started' } } },
        CustomerCancels: { target: 'Cancelled', actions: 'cancel' },
        // The trial ends when the plan's first cycle starts.
        timeout: { target: 'Active' },
      },
    },
    Active: {
      on: {
        CustomerSubscribes: [refuse('badStart', startRefusal), alreadySubscribed],
        CustomerUpgrades: [refuse('changeRefused', changeRefusal), { actions: 'changeTier' }],
        RenewalDue: [refuse('renewalRefused', renewalRefusal), { actions: 'renew' }],
        CustomerCancels: { target: 'Cancelled', actions: 'cancel' },
      },
    },
    Cancelled: {
      on: {
        CustomerSubscribes: subscribes('reactivate'),
        timeout: { target: 'Lapsed' },
      },
    },
    Lapsed: {
      on: {
        CustomerSubscribes: subscribes('subscribe'),
        timeout: { target: 'Archived', actions: 'archive' },
      },
    },
    Archived: {
      on: { CustomerSubscribes: subscribes('subscribe') },
    },
  },
});

/** A subscribe where nothing runs: refused if it names no plan, else the plan starts, with its trial or without. */
function subscribes(start: 'subscribe' | 'reactivate') {
  return [
    refuse('badStart', startRefusal),
    { guard: 'startsTrial', target: 'Trial', actions: start },
    { target: 'Active', actions: start },
  ] as const;
}

export const subscriptionGovernor = governorFromMachine<S, D>(subscriptionDomain, {
  kind: 'Subscription',
  init: () => INITIAL,
  timing: {
    // The trial ends when the first cycle starts (the tier's trial after the subscribe).
    Trial: { ms: TRIAL_DAYS * DAY_MS, deadline: (data) => data.plan?.cycleStart ?? null },
    Cancelled: { ms: REACTIVATION_WINDOW_DAYS * DAY_MS, deadline: (data) => after(data.cancelledAt, REACTIVATION_WINDOW_DAYS) },
    // Only what the next subscription needs survives the retention period.
    Lapsed: { ms: SUBSCRIPTION_RETENTION_DAYS * DAY_MS, deadline: (data) => after(data.cancelledAt, REACTIVATION_WINDOW_DAYS + SUBSCRIPTION_RETENTION_DAYS) },
  },
  facts: (state) => ({ subscription: state.toLowerCase() }),
});

/** The pure decision of the Subscription governor: its machine, taken one event. */
export const decideSubscription = (state: S, data: D, event: LifecycleEvent) => subscriptionGovernor.decide(state, data, event, event.customerId);

/** The Subscription governor's machine. */
export const subscriptionMachine = defineGovernor(subscriptionGovernor);
