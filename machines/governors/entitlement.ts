import { DEFAULT_DUNNING_SCHEDULE } from '../../src/marketplace/dunning.ts';
import { issueLicence } from '../../src/marketplace/licence-key.ts';
import type { SigningKey } from '../../src/marketplace/signing-keys.ts';
import { FEATURES, TIERS, hasFeature, tierChange, type Feature } from '../../src/marketplace/tiers.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime, type Decision, type GovernorDefinition } from './governor-kit.ts';
import { DAY_MS, REACTIVATION_WINDOW_DAYS, parseSku, planOfSubscription, type PlanSku } from './plan.ts';

/**
 * The Entitlement governor: whether a customer may use what they pay for, at which tier, with
 * which feature gates, and the signed licence key that says so offline.
 *
 *   Inactive → Active ⇄ Grace (payment failed; service on) → Suspended (grace over, or a manual
 *   suspension) → Terminated (30 d);  Active/Grace/Suspended → Cancelled → Expired (30 d)
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

const LIVE: readonly S[] = ['Active', 'Grace', 'Suspended'];

export interface EntitlementOptions {
  /** Signs licence keys (Ed25519). Without it, entitlements are granted without a key. */
  readonly signingKey?: SigningKey;
}

/** The state a live entitlement is in, given its two reasons to be off. */
function liveState(data: D): S {
  if (data.manualHold || data.dunning === 'suspended') return 'Suspended';
  return data.dunning === 'grace' ? 'Grace' : 'Active';
}

const applied = (state: S, data: D): Decision<S, D> => ({ status: 'applied', next: { state, data } });
const rejected = (reason: string): Decision<S, D> => ({ status: 'rejected', reason });
const notApplicable = (reason: string): Decision<S, D> => ({ status: 'not_applicable', reason });

/** The pure decision of the Entitlement governor; `licence` issues a key (or not). */
export function decideEntitlement(
  state: S,
  data: D,
  event: LifecycleEvent,
  customerId: string,
  licence: (plan: PlanSku, serial: number, at: number, customerId: string) => string | null = () => null,
): Decision<S, D> {
  const live = LIVE.includes(state);
  const at = eventTime(event);
  const grant = (plan: PlanSku, base: D): D => ({ ...base, plan, licence: licence(plan, base.licenceSerial + 1, at, customerId), licenceSerial: base.licenceSerial + 1 });
  switch (event.type) {
    case 'CustomerSubscribes': {
      const plan = planOfSubscription(event);
      if ('error' in plan) return rejected(plan.error);
      if (state === 'Suspended') return rejected(`entitlement suspended (${data.manualHold ? 'manual hold' : 'unpaid balance'})`);
      if (live) return rejected(`already entitled to ${data.plan?.sku}`);
      return applied('Active', grant(plan, { ...data, manualHold: false, dunning: 'none' }));
    }
    case 'CustomerUpgrades': {
      if (state === 'Grace') return rejected('payment overdue: plan changes wait until it is paid');
      if (state === 'Suspended') return rejected('entitlement suspended: plan changes wait until it is lifted');
      if (state !== 'Active' || !data.plan) return rejected('no active entitlement to change');
      const from = parseSku(event.fromSku);
      const to = parseSku(event.toSku);
      if ('error' in from) return rejected(`fromSku: ${from.error}`);
      if ('error' in to) return rejected(`toSku: ${to.error}`);
      if (from.sku !== data.plan.sku) return rejected(`entitled to ${data.plan.sku}, not ${from.sku}`);
      if (to.cycle !== data.plan.cycle) return rejected(`changing the billing cycle (${data.plan.cycle} → ${to.cycle}) needs a new subscription`);
      if (tierChange(from.tier, to.tier) === 'none') return rejected(`${to.sku} is the same tier as ${from.sku}`);
      return applied('Active', grant(to, data));
    }
    case 'PaymentProcessed': {
      if (!live || data.dunning === 'none') return notApplicable('nothing unpaid holds this entitlement');
      const next = { ...data, dunning: 'none' as const };
      return applied(liveState(next), next);
    }
    case 'PaymentFailed': {
      if (!live) return notApplicable('no live entitlement');
      if (data.dunning !== 'none') return notApplicable('already in dunning');
      const next = { ...data, dunning: 'grace' as const };
      return applied(liveState(next), next);
    }
    case 'CustomerCancels':
      if (!live) return notApplicable('no live entitlement to cancel');
      return applied('Cancelled', { ...data, manualHold: false, dunning: 'none', licence: null });
    case 'ManualSuspension':
      if (!live) return notApplicable('no live entitlement to suspend');
      if (data.manualHold) return notApplicable('already suspended by hand');
      return applied('Suspended', { ...data, manualHold: true });
    case 'SuspensionLifted': {
      if (state !== 'Suspended' || !data.manualHold) return notApplicable('no manual suspension to lift');
      const next = { ...data, manualHold: false };
      return applied(liveState(next), next);
    }
    case 'RenewalDue':
      if (state === 'Grace') return notApplicable('payment overdue: the licence is renewed once paid');
      if (state === 'Suspended') return rejected('entitlement suspended: renewals wait until it is lifted');
      if (state !== 'Active' || !data.plan) return rejected(`no entitlement to renew (${state.toLowerCase()}): subscribe again`);
      if (data.licence === null) return notApplicable('no licence key to renew');
      return applied('Active', grant(data.plan, data));
    case 'UsageExceedsQuota':
      return notApplicable('quotas are enforced by QuotaSla');
    default:
      return notApplicable(`Entitlement does not handle ${event.type}`);
  }
}

/** The Entitlement governor, signing licence keys with `options.signingKey` if given. */
export function createEntitlementGovernor(options: EntitlementOptions = {}): GovernorDefinition<S, D> {
  const key = options.signingKey;
  const licence = key
    ? (plan: PlanSku, serial: number, at: number, customerId: string) =>
        issueLicence(
          { id: `lic-${serial}`, organisation: customerId, tier: plan.tier, seats: 1, issuedAt: at, expiresAt: at + LICENCE_VALIDITY_DAYS * DAY_MS },
          key,
        )
    : undefined;
  const revoke = (data: D): D => ({ ...data, licence: null });
  return {
    kind: 'Entitlement',
    states: ENTITLEMENT_STATES,
    initial: 'Inactive',
    init: () => ({ plan: null, manualHold: false, dunning: 'none', licence: null, licenceSerial: 0 }),
    decide: (state, data, event, customerId) => decideEntitlement(state, data, event, customerId, licence),
    targets: ['Active', 'Grace', 'Suspended', 'Cancelled'],
    timeouts: {
      Grace: { ms: DEFAULT_DUNNING_SCHEDULE.graceDays * DAY_MS, to: 'Suspended', update: (data) => ({ ...data, dunning: 'suspended' }) },
      Suspended: { ms: SUSPENSION_TERMINATES_DAYS * DAY_MS, to: 'Terminated', update: (data) => ({ ...revoke(data), manualHold: false, dunning: 'none' }) },
      Cancelled: { ms: REACTIVATION_WINDOW_DAYS * DAY_MS, to: 'Expired', update: (data) => ({ ...revoke(data), plan: null }) },
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
  };
}

/** The Entitlement governor without licence signing (tests, and nodes without a key). */
export const entitlementGovernor = createEntitlementGovernor();

/** The Entitlement machine for `options`. */
export function createEntitlementMachine(options: EntitlementOptions = {}) {
  return defineGovernor(createEntitlementGovernor(options));
}

export const entitlementMachine = createEntitlementMachine();
