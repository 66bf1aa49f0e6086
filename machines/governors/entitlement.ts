import { DEFAULT_DUNNING_SCHEDULE } from '../../src/marketplace/dunning.ts';
import { issueLicence } from '../../src/marketplace/licence-key.ts';
import type { SigningKey } from '../../src/marketplace/signing-keys.ts';
import { FEATURES, TIERS, hasFeature, tierChange, type Feature } from '../../src/marketplace/tiers.ts';
import { assign, setup } from 'xstate';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime, type GovernorDefinition } from './governor-kit.ts';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent, type DomainTimeout } from './domain-machine.ts';
import { DAY_MS, REACTIVATION_WINDOW_DAYS, parseSku, planOfSubscription, type PlanSku } from './plan.ts';

/**
 * The Entitlement governor: whether a customer may use what they pay for, at which tier, with
 * which feature gates, and the signed licence key that says so offline.
 *
 *   Inactive → Active ⇄ Grace (payment failed; service on, 7 d) → Suspended (grace over, or a
 *   manual suspension) → Terminated (30 d);  Suspended → Active | Grace (the hold lifted, the
 *   balance paid);  Active/Grace/Suspended → Cancelled → Expired (30 d);  Cancelled, Expired,
 *   Terminated → Active (a new subscription)
 *
 * Two independent reasons keep an entitlement from being active, and both are tracked: a manual
 * hold (ManualSuspension, lifted by SuspensionLifted) and dunning (PaymentFailed starts the grace
 * period, PaymentProcessed ends it). The grace period is the dunning schedule's, entered at the
 * same commit as Billing's dunning and CustomerAccount's PastDue, so the three reach suspension at
 * the same instant with no message between them that could be lost.
 *
 * Fixed from the seeds: Expired is really entered (when the reactivation window after a
 * cancellation closes); Pending is dropped — activation needs no approval step here, and a state
 * that nothing enters is the defect, not a feature. One SKU grammar (`plan.ts`) for all governors.
 */
export const ENTITLEMENT_STATES = ['Inactive', 'Active', 'Grace', 'Suspended', 'Cancelled', 'Expired', 'Terminated'] as const;
export type EntitlementState = (typeof ENTITLEMENT_STATES)[number];

export interface EntitlementData {
  readonly plan: PlanSku | null;
  /** Suspended by a person (ManualSuspension) until lifted. */
  readonly manualHold: boolean;
  /** Where an unpaid balance stands: none, in grace (service on), or past grace (service off). */
  readonly dunning: 'none' | 'grace' | 'suspended';
  /** The signed licence key of the current grant, when the node has a signing key. */
  readonly licence: string | null;
  readonly licenceSerial: number;
}

/** @default 365 days: a licence's validity (seeds: activation for 365 d); renewals reissue it. */
export const LICENCE_VALIDITY_DAYS = 365;
/** After this long suspended, the entitlement is terminated (as the account is deactivated). */
export const SUSPENSION_TERMINATES_DAYS = 30;

type S = EntitlementState;
type D = EntitlementData;

export interface EntitlementOptions {
  /** Signs licence keys (Ed25519). Without it, entitlements are granted without a key. */
  readonly signingKey?: SigningKey;
}

/**
 * Issues the signed licence key of a grant (`serial`: the grant's number), or none (`null`) on a
 * node without a signing key.
 */
export type Licensor = (plan: PlanSku, serial: number, at: number, customerId: string) => string | null;

type EntitlementEvent =
  | DomainEvent<'CustomerSubscribes', { sku: unknown; tier: unknown }>
  | DomainEvent<'CustomerUpgrades', { fromSku: unknown; toSku: unknown }>
  | DomainEvent<'PaymentProcessed'>
  | DomainEvent<'PaymentFailed'>
  | DomainEvent<'CustomerCancels'>
  | DomainEvent<'ManualSuspension'>
  | DomainEvent<'SuspensionLifted'>
  | DomainEvent<'RenewalDue'>
  | DomainEvent<'UsageExceedsQuota'>
  | DomainTimeout;

const INITIAL: D = { plan: null, manualHold: false, dunning: 'none', licence: null, licenceSerial: 0 };

/** The plan a subscribe asks for (`plan.ts`: SKU and tier must agree), or why it names none. */
function planOf(event: EntitlementEvent): PlanSku | { readonly error: string } {
  return event.type === 'CustomerSubscribes' ? planOfSubscription(event) : { error: `${event.type} names no plan` };
}

/** Why a subscribe names no plan; `null` if it does. */
function planRefusal(_data: D, event: EntitlementEvent): string | null {
  const plan = planOf(event);
  return 'error' in plan ? plan.error : null;
}

/** Why a plan change cannot apply to the entitled plan, in the order the reasons are given; `null` if it can. */
function changeRefusal(data: D, event: EntitlementEvent): string | null {
  if (!data.plan || event.type !== 'CustomerUpgrades') return 'no active entitlement to change';
  const from = parseSku(event.fromSku);
  const to = parseSku(event.toSku);
  if ('error' in from) return `fromSku: ${from.error}`;
  if ('error' in to) return `toSku: ${to.error}`;
  if (from.sku !== data.plan.sku) return `entitled to ${data.plan.sku}, not ${from.sku}`;
  if (to.cycle !== data.plan.cycle) return `changing the billing cycle (${data.plan.cycle} → ${to.cycle}) needs a new subscription`;
  if (tierChange(from.tier, to.tier) === 'none') return `${to.sku} is the same tier as ${from.sku}`;
  return null;
}

/**
 * A refusal when `guard` holds, with the reason `why` gives (the check the guard made). Refusals
 * are only `reject` and `notApplicable` actions: the kit and the diagrams read them as never moving.
 */
function refuse<G extends string>(guard: G, why: (data: D, event: EntitlementEvent) => string | null) {
  return { guard, actions: { type: 'reject', params: ({ context, event }: { context: DomainContext<D>; event: EntitlementEvent }) => ({ reason: why(context.data, event) ?? '' }) } } as const;
}

const notApplicable = (reason: string) => ({ actions: { type: 'notApplicable', params: { reason } } }) as const;
const rejected = (reason: string) => ({ actions: { type: 'reject', params: { reason } } }) as const;

const alreadyEntitled = { actions: { type: 'reject', params: ({ context }: { context: DomainContext<D> }) => ({ reason: `already entitled to ${context.data.plan?.sku}` }) } } as const;

function nothingToRenew(state: S) {
  return rejected(`no entitlement to renew (${state.toLowerCase()}): subscribe again`);
}

/**
 * The entitlement, written out, granting licence keys with `licence`. In the live states (Active,
 * Grace, Suspended) the state follows from the manual hold and the dunning (Suspended: either
 * holds; Grace: dunning alone, within the grace period): each transition's guards read the one
 * that decides where it leads.
 */
export function createEntitlementDomain(licence: Licensor = () => null) {
  /** A new grant of `plan`: the next licence serial, and its key as of the event. */
  const grant = (base: D, plan: PlanSku, event: EntitlementEvent, customerId: string): D => {
    const serial = base.licenceSerial + 1;
    return { ...base, plan, licence: licence(plan, serial, event.type === 'timeout' ? Number.NaN : eventTime(event), customerId), licenceSerial: serial };
  };
  return setup({
    types: {} as { context: DomainContext<D>; events: EntitlementEvent },
    guards: {
      badPlan: ({ context, event }) => planRefusal(context.data, event) !== null,
      changeRefused: ({ context, event }) => changeRefusal(context.data, event) !== null,
      /** Granted on a node without a signing key: there is no key to reissue. */
      noLicence: ({ context }) => context.data.licence === null,
      heldByHand: ({ context }) => context.data.manualHold,
      /** Suspended for the unpaid balance alone: there is no manual hold to lift. */
      dunningOnly: ({ context }) => !context.data.manualHold,
      nothingUnpaid: ({ context }) => context.data.dunning === 'none',
      inDunning: ({ context }) => context.data.dunning !== 'none',
      inGrace: ({ context }) => context.data.dunning === 'grace',
      pastGrace: ({ context }) => context.data.dunning === 'suspended',
    },
    actions: {
      reject: assign((_, params: { reason: string }) => ({ outcome: outcome.rejected(params.reason) })),
      notApplicable: assign((_, params: { reason: string }) => ({ outcome: outcome.notApplicable(params.reason) })),
      /** A fresh grant: whatever held the entitlement before it ended is gone. */
      subscribe: assign(({ context, event }) => {
        const plan = planOf(event);
        if ('error' in plan) return { outcome: outcome.rejected(plan.error) };
        return { data: grant({ ...context.data, manualHold: false, dunning: 'none' }, plan, event, context.customerId), outcome: outcome.applied };
      }),
      /** The new tier, with a new licence key that says it. */
      changeTier: assign(({ context, event }) => {
        const to = event.type === 'CustomerUpgrades' ? parseSku(event.toSku) : { error: 'not a plan change' };
        if ('error' in to) return { outcome: outcome.rejected('no plan to change to (a governor bug)') };
        return { data: grant(context.data, to, event, context.customerId), outcome: outcome.applied };
      }),
      /** The licence key reissued for another validity period (`LICENCE_VALIDITY_DAYS`). */
      renewLicence: assign(({ context, event }) => {
        if (!context.data.plan) return { outcome: outcome.rejected('no entitlement to renew (active): subscribe again') };
        return { data: grant(context.data, context.data.plan, event, context.customerId), outcome: outcome.applied };
      }),
      settle: assign(({ context }) => ({ data: { ...context.data, dunning: 'none' } as D, outcome: outcome.applied })),
      /** Dunning starts: the dunning schedule's grace period, service still on. */
      startGrace: assign(({ context }) => ({ data: { ...context.data, dunning: 'grace' } as D, outcome: outcome.applied })),
      cancel: assign(({ context }) => ({ data: { ...context.data, manualHold: false, dunning: 'none', licence: null } as D, outcome: outcome.applied })),
      hold: assign(({ context }) => ({ data: { ...context.data, manualHold: true }, outcome: outcome.applied })),
      lift: assign(({ context }) => ({ data: { ...context.data, manualHold: false }, outcome: outcome.applied })),
      suspendForDunning: assign(({ context }) => ({ data: { ...context.data, dunning: 'suspended' } as D })),
      /** Suspended too long: the licence is revoked and both reasons to be off are moot. */
      terminate: assign(({ context }) => ({ data: { ...context.data, licence: null, manualHold: false, dunning: 'none' } as D })),
      /** The reactivation window closed: nothing of the plan is kept. */
      expire: assign(({ context }) => ({ data: { ...context.data, licence: null, plan: null } })),
    },
  }).createMachine({
    id: 'Entitlement',
    initial: 'Inactive',
    context: domainContext(INITIAL),
    // In every state that does not say otherwise: the ended states (Inactive, Cancelled, Expired,
    // Terminated) have nothing live to change, pay, cancel or suspend.
    on: {
      CustomerUpgrades: rejected('no active entitlement to change'),
      PaymentProcessed: notApplicable('nothing unpaid holds this entitlement'),
      PaymentFailed: notApplicable('no live entitlement'),
      CustomerCancels: notApplicable('no live entitlement to cancel'),
      ManualSuspension: notApplicable('no live entitlement to suspend'),
      SuspensionLifted: notApplicable('no manual suspension to lift'),
      UsageExceedsQuota: notApplicable('quotas are enforced by QuotaSla'),
    },
    states: {
      Inactive: {
        on: {
          CustomerSubscribes: [refuse('badPlan', planRefusal), { target: 'Active', actions: 'subscribe' }],
          RenewalDue: nothingToRenew('Inactive'),
        },
      },
      Active: {
        on: {
          CustomerSubscribes: [refuse('badPlan', planRefusal), alreadyEntitled],
          CustomerUpgrades: [refuse('changeRefused', changeRefusal), { actions: 'changeTier' }],
          PaymentFailed: { target: 'Grace', actions: 'startGrace' },
          CustomerCancels: { target: 'Cancelled', actions: 'cancel' },
          ManualSuspension: { target: 'Suspended', actions: 'hold' },
          RenewalDue: [{ guard: 'noLicence', ...notApplicable('no licence key to renew') }, { actions: 'renewLicence' }],
        },
      },
      // Dunning's grace period: service stays on, the entitlement waits for the payment. The same
      // grace as Billing's dunning and CustomerAccount's PastDue: all three suspend at one instant.
      Grace: {
        on: {
          CustomerSubscribes: [refuse('badPlan', planRefusal), alreadyEntitled],
          CustomerUpgrades: rejected('payment overdue: plan changes wait until it is paid'),
          PaymentProcessed: { target: 'Active', actions: 'settle' },
          PaymentFailed: notApplicable('already in dunning'),
          CustomerCancels: { target: 'Cancelled', actions: 'cancel' },
          ManualSuspension: { target: 'Suspended', actions: 'hold' },
          RenewalDue: notApplicable('payment overdue: the licence is renewed once paid'),
          timeout: { target: 'Suspended', actions: 'suspendForDunning' },
        },
      },
      // Held by hand, past grace, or both: each reason is lifted on its own, and the state follows
      // from what is left.
      Suspended: {
        on: {
          CustomerSubscribes: [
            refuse('badPlan', planRefusal),
            { actions: { type: 'reject', params: ({ context }) => ({ reason: `entitlement suspended (${context.data.manualHold ? 'manual hold' : 'unpaid balance'})` }) } },
          ],
          CustomerUpgrades: rejected('entitlement suspended: plan changes wait until it is lifted'),
          PaymentProcessed: [{ guard: 'nothingUnpaid', ...notApplicable('nothing unpaid holds this entitlement') }, { guard: 'heldByHand', actions: 'settle' }, { target: 'Active', actions: 'settle' }],
          // Held by hand and now unpaid too: the grace period starts, to apply once the hold is lifted.
          PaymentFailed: [{ guard: 'inDunning', ...notApplicable('already in dunning') }, { actions: 'startGrace' }],
          CustomerCancels: { target: 'Cancelled', actions: 'cancel' },
          ManualSuspension: [{ guard: 'heldByHand', ...notApplicable('already suspended by hand') }, { actions: 'hold' }],
          SuspensionLifted: [
            { guard: 'dunningOnly', ...notApplicable('no manual suspension to lift') },
            { guard: 'pastGrace', actions: 'lift' },
            { guard: 'inGrace', target: 'Grace', actions: 'lift' },
            { target: 'Active', actions: 'lift' },
          ],
          RenewalDue: rejected('entitlement suspended: renewals wait until it is lifted'),
          timeout: { target: 'Terminated', actions: 'terminate' },
        },
      },
      Cancelled: {
        on: {
          CustomerSubscribes: [refuse('badPlan', planRefusal), { target: 'Active', actions: 'subscribe' }],
          RenewalDue: nothingToRenew('Cancelled'),
          timeout: { target: 'Expired', actions: 'expire' },
        },
      },
      Expired: {
        on: {
          CustomerSubscribes: [refuse('badPlan', planRefusal), { target: 'Active', actions: 'subscribe' }],
          RenewalDue: nothingToRenew('Expired'),
        },
      },
      Terminated: {
        on: {
          CustomerSubscribes: [refuse('badPlan', planRefusal), { target: 'Active', actions: 'subscribe' }],
          RenewalDue: nothingToRenew('Terminated'),
        },
      },
    },
  });
}

/** The Entitlement machine without licence signing: the one drawn and traversed. */
export const entitlementDomain = createEntitlementDomain();

/** The Entitlement governor, signing licence keys with `options.signingKey` if given. */
export function createEntitlementGovernor(options: EntitlementOptions = {}): GovernorDefinition<S, D> {
  const key = options.signingKey;
  const licence: Licensor | undefined = key
    ? (plan, serial, at, customerId) =>
        issueLicence(
          { id: `lic-${serial}`, organisation: customerId, tier: plan.tier, seats: 1, issuedAt: at, expiresAt: at + LICENCE_VALIDITY_DAYS * DAY_MS },
          key,
        )
    : undefined;
  return governorFromMachine<S, D>(licence ? createEntitlementDomain(licence) : entitlementDomain, {
    kind: 'Entitlement',
    init: () => INITIAL,
    timing: {
      Grace: { ms: DEFAULT_DUNNING_SCHEDULE.graceDays * DAY_MS },
      Suspended: { ms: SUSPENSION_TERMINATES_DAYS * DAY_MS },
      Cancelled: { ms: REACTIVATION_WINDOW_DAYS * DAY_MS },
    },
    facts: (state) => ({ entitlement: state.toLowerCase() }),
    queries: {
      /** The feature gates in force now: all off unless the entitlement is active or in grace. */
      features: ({ state, data }) => {
        const on = (state === 'Active' || state === 'Grace') && data.plan !== null;
        const gates = Object.fromEntries(FEATURES.map((f: Feature) => [f, on && data.plan !== null && hasFeature(data.plan.tier, f)]));
        return { state, tier: data.plan?.tier ?? null, limits: on && data.plan ? TIERS[data.plan.tier].limits : null, features: gates, licence: data.licence };
      },
    },
  });
}

/** The Entitlement governor without licence signing (tests, and nodes without a key). */
export const entitlementGovernor = createEntitlementGovernor();

/** The pure decision of the Entitlement governor (without licence signing): its machine, taken one event. */
export const decideEntitlement = (state: S, data: D, event: LifecycleEvent, customerId = event.customerId) => entitlementGovernor.decide(state, data, event, customerId);

/** The Entitlement machine for `options`. */
export function createEntitlementMachine(options: EntitlementOptions = {}) {
  return defineGovernor(createEntitlementGovernor(options));
}

export const entitlementMachine = createEntitlementMachine();
