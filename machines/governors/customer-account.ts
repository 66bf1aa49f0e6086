import { DEFAULT_DUNNING_SCHEDULE } from '../../src/marketplace/dunning.ts';
import { assign, setup } from 'xstate';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime } from './governor-kit.ts';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent, type DomainTimeout } from './domain-machine.ts';
import { chargeSignals, fraudBand, fraudScore } from './fraud-score.ts';
import { DAY_MS } from './plan.ts';
import { canonicalJson } from '../../src/marketplace/canonical-json.ts';
import { ERASED, type Contact } from '../../src/marketplace/personal-data.ts';

/**
 * The CustomerAccount governor: the customer as a party — onboarding, standing, suspension and
 * review, deactivation and the retention that follows.
 *
 *   Onboarding (7 d) → Active ⇄ PastDue (7 d grace) → Suspended (30 d) → Deactivated (30 d) → Archived
 *                        ⇅ UnderReview (14 d) → Deactivated
 *
 * As in Entitlement, a manual hold (suspension or review) and dunning are tracked apart, and the
 * state follows from both. Every charge attempt is scored (`fraud-score.ts`); a charge scoring in
 * the suspend or review bands is refused with the score as the reason — suspending on a heuristic
 * is a person's decision (a ManualSuspension), not a side effect of a payment.
 *
 * Fixed from the seeds: the code compiles; an appeal restores the account (SuspensionLifted, also
 * within 30 days of deactivation). KYC has no event of its own yet: an account opens with its
 * first subscription, and an onboarding that never completes is deactivated after 7 days.
 */
export const ACCOUNT_STATES = ['Onboarding', 'Active', 'PastDue', 'Suspended', 'UnderReview', 'Deactivated', 'Archived'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

export interface AccountData {
  readonly hold: 'none' | 'suspended' | 'review';
  readonly holdReason: string | null;
  readonly dunning: 'none' | 'past_due' | 'suspended';
  /** Charge attempts of the last 24 h (epoch ms), for the velocity signal. */
  readonly charges: readonly number[];
  /** Recent activity (epoch ms), for the business-hours signal. */
  readonly activity: readonly number[];
  readonly lastScore: number;
  /** A score in the closer-checks band asks for closer checks until then (epoch ms). */
  readonly closerChecksUntil: number | null;
  readonly openedAt: number | null;
  /**
   * The customer's personal-data record: the contact its last `CustomerSubscribes` gave (name,
   * email, address, tax id), `null` when none was given or after erasure. The only state that
   * holds it (see `src/marketplace/personal-data.ts`); absent in states saved before it existed.
   */
  readonly contact?: Contact | null;
}

type S = AccountState;
type D = AccountData;

const KEPT_SAMPLES = 50;
export const ONBOARDING_DAYS = 7;
export const SUSPENDED_DAYS = 30;
export const REVIEW_DAYS = 14;
export const RETENTION_DAYS = 30;
export const CLOSER_CHECK_DAYS = 3;

/** Words in a suspension's reason that make it a review rather than a plain suspension. */
const REVIEW_REASON = /review|fraud|investigat/i;

/** The account's standing, as the conflict rules read it (`account: 'suspended'`). */
export function accountStanding(state: S): 'good' | 'onboarding' | 'past_due' | 'suspended' {
  if (state === 'Active') return 'good';
  if (state === 'Onboarding') return 'onboarding';
  return state === 'PastDue' ? 'past_due' : 'suspended';
}

/** Records a charge attempt and scores it; a score in the suspend or review band refuses it. */
function charge(data: D, at: number): { data: D } | { refused: string } {
  const signals = chargeSignals(data.charges, at, data.activity);
  const score = fraudScore(signals);
  const band = fraudBand(score);
  if (band === 'suspend' || band === 'review') {
    return { refused: `fraud score ${score} (${band} band): the charge is held until a person decides` };
  }
  const charges = [...data.charges.filter((t) => at - t < DAY_MS), at].slice(-KEPT_SAMPLES);
  const closerChecksUntil = band === 'closer_checks' ? at + CLOSER_CHECK_DAYS * DAY_MS : data.closerChecksUntil;
  return { data: { ...data, charges, lastScore: score, closerChecksUntil } };
}

/** A contact as the schema let it through (an object); anything else is not one. */
function isContact(value: unknown): value is Contact {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type AccountEvent =
  | DomainEvent<'CustomerSubscribes', { contact: unknown }>
  | DomainEvent<'CustomerErasureRequested'>
  | DomainEvent<'PaymentProcessed'>
  | DomainEvent<'PaymentFailed'>
  | DomainEvent<'UsageExceedsQuota'>
  | DomainEvent<'ManualSuspension', { actor: unknown; reason: unknown }>
  | DomainEvent<'SuspensionLifted'>
  | DomainEvent<'CustomerCancels'>
  | DomainTimeout;

const INITIAL: D = { hold: 'none', holdReason: null, dunning: 'none', charges: [], activity: [], lastScore: 0, closerChecksUntil: null, openedAt: null, contact: null };

const timeOf = (event: AccountEvent): number => (event.type === 'timeout' ? Number.NaN : eventTime(event));
/** A subscribe that gives a contact replaces the record; one that gives none keeps it. */
const contactOf = (data: D, event: AccountEvent): Contact | null => (event.type === 'CustomerSubscribes' && isContact(event.contact) ? event.contact : (data.contact ?? null));
const holdAsked = (event: AccountEvent): 'review' | 'suspended' =>
  event.type === 'ManualSuspension' && typeof event.reason === 'string' && REVIEW_REASON.test(event.reason) ? 'review' : 'suspended';
/** The charge a payment event is, scored on the data. */
const scoredCharge = (data: D, event: AccountEvent) => charge(data, timeOf(event));
const noOpenAccount = (state: string) => ({ type: 'notApplicable', params: { reason: `no open account (${state.toLowerCase()})` } }) as const;

/**
 * The account, written out. In the live states (Active, PastDue, Suspended, UnderReview) the
 * state follows from the manual hold and the dunning: each transition's guards read the one that
 * decides where it leads.
 */
export const customerAccountDomain = setup({
  types: {} as { context: DomainContext<D>; events: AccountEvent },
  guards: {
    contactChanged: ({ context, event }) => canonicalJson(contactOf(context.data, event)) !== canonicalJson(context.data.contact ?? null),
    /** Nothing personal held: no contact, and no hold reason (or an erased one). */
    nothingPersonal: ({ context }) => (context.data.contact ?? null) === null && (context.data.holdReason === null || context.data.holdReason === ERASED),
    /** The charge scores in the suspend or review band. */
    chargeRefused: ({ context, event }) => 'refused' in scoredCharge(context.data, event),
    heldForReview: ({ context }) => context.data.hold === 'review',
    heldSuspended: ({ context }) => context.data.hold === 'suspended',
    notHeld: ({ context }) => context.data.hold === 'none',
    dunningSuspended: ({ context }) => context.data.dunning === 'suspended',
    dunningPastDue: ({ context }) => context.data.dunning === 'past_due',
    /** The suspension asks for the hold there is already. */
    sameHold: ({ context, event }) => context.data.hold === holdAsked(event),
    /** The suspension's reason asks for a review (review, fraud, investigation). */
    asksReview: ({ event }) => holdAsked(event) === 'review',
  },
  actions: {
    reject: assign((_, params: { reason: string }) => ({ outcome: outcome.rejected(params.reason) })),
    notApplicable: assign((_, params: { reason: string }) => ({ outcome: outcome.notApplicable(params.reason) })),
    open: assign(({ context, event }) => ({
      data: { ...context.data, hold: 'none', holdReason: null, dunning: 'none', openedAt: context.data.openedAt ?? timeOf(event), contact: contactOf(context.data, event) } as D,
      outcome: outcome.applied,
    })),
    updateContact: assign(({ context, event }) => ({ data: { ...context.data, contact: contactOf(context.data, event) }, outcome: outcome.applied })),
    /** Personal data goes; the standing stays (it is the contract's, and other governors rely on it). */
    erasePersonal: assign(({ context }) => ({ data: { ...context.data, contact: null, holdReason: context.data.holdReason === null ? null : ERASED }, outcome: outcome.applied })),
    /** The charge recorded and scored, and the dunning it settles or starts. */
    charge: assign(({ context, event }) => {
      const scored = scoredCharge(context.data, event);
      if ('refused' in scored) return { outcome: outcome.rejected(scored.refused) };
      const dunning = event.type === 'PaymentProcessed' ? 'none' : context.data.dunning === 'none' ? 'past_due' : context.data.dunning;
      return { data: { ...scored.data, dunning } as D, outcome: outcome.applied };
    }),
    refuseCharge: assign(({ context, event }) => {
      const scored = scoredCharge(context.data, event);
      return { outcome: outcome.rejected('refused' in scored ? scored.refused : 'the charge is held (a governor bug)') };
    }),
    recordActivity: assign(({ context, event }) => ({ data: { ...context.data, activity: [...context.data.activity, timeOf(event)].slice(-KEPT_SAMPLES) }, outcome: outcome.applied })),
    hold: assign(({ context, event }) => ({
      data: { ...context.data, hold: holdAsked(event), holdReason: `${String(event.type === 'ManualSuspension' ? event.actor : undefined)}: ${event.type === 'ManualSuspension' && typeof event.reason === 'string' ? event.reason : ''}` },
      outcome: outcome.applied,
    })),
    alreadyHeld: assign(({ context }) => ({ outcome: outcome.notApplicable(`already ${context.data.hold === 'review' ? 'under review' : 'suspended'}`) })),
    lift: assign(({ context }) => ({ data: { ...context.data, hold: 'none', holdReason: null } as D, outcome: outcome.applied })),
    suspendForDunning: assign(({ context }) => ({ data: { ...context.data, dunning: 'suspended' } as D })),
    /** Retention over: keep the standing, forget the behaviour. */
    forget: assign(({ context }) => ({ data: { ...context.data, charges: [], activity: [], holdReason: null, closerChecksUntil: null } })),
  },
}).createMachine({
  id: 'CustomerAccount',
  initial: 'Onboarding',
  context: domainContext(INITIAL),
  on: {
    CustomerErasureRequested: [{ guard: 'nothingPersonal', actions: { type: 'notApplicable', params: { reason: 'no personal data held' } } }, { actions: 'erasePersonal' }],
    CustomerCancels: { actions: { type: 'notApplicable', params: { reason: 'the account outlives its subscriptions' } } },
  },
  states: {
    Onboarding: {
      on: {
        CustomerSubscribes: { target: 'Active', actions: 'open' },
        PaymentProcessed: { actions: noOpenAccount('Onboarding') },
        PaymentFailed: { actions: noOpenAccount('Onboarding') },
        UsageExceedsQuota: { actions: noOpenAccount('Onboarding') },
        ManualSuspension: [{ guard: 'asksReview', target: 'UnderReview', actions: 'hold' }, { target: 'Suspended', actions: 'hold' }],
        SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'no hold to lift' } } },
        timeout: { target: 'Deactivated' },
      },
    },
    Active: {
      on: {
        CustomerSubscribes: [{ guard: 'contactChanged', actions: 'updateContact' }, { actions: { type: 'notApplicable', params: { reason: 'the account is open' } } }],
        PaymentProcessed: [{ guard: 'chargeRefused', actions: 'refuseCharge' }, { actions: 'charge' }],
        PaymentFailed: [{ guard: 'chargeRefused', actions: 'refuseCharge' }, { target: 'PastDue', actions: 'charge' }],
        UsageExceedsQuota: { actions: 'recordActivity' },
        ManualSuspension: [{ guard: 'asksReview', target: 'UnderReview', actions: 'hold' }, { target: 'Suspended', actions: 'hold' }],
        SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'no hold to lift' } } },
      },
    },
    PastDue: {
      on: {
        CustomerSubscribes: { actions: { type: 'reject', params: { reason: 'the account is past due: settle or lift that first' } } },
        PaymentProcessed: [{ guard: 'chargeRefused', actions: 'refuseCharge' }, { target: 'Active', actions: 'charge' }],
        PaymentFailed: [{ guard: 'chargeRefused', actions: 'refuseCharge' }, { actions: 'charge' }],
        UsageExceedsQuota: { actions: 'recordActivity' },
        ManualSuspension: [{ guard: 'asksReview', target: 'UnderReview', actions: 'hold' }, { target: 'Suspended', actions: 'hold' }],
        SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'no hold to lift' } } },
        // The same grace as Billing's dunning and Entitlement's: all three suspend at one instant.
        timeout: { target: 'Suspended', actions: 'suspendForDunning' },
      },
    },
    Suspended: {
      on: {
        CustomerSubscribes: { actions: { type: 'reject', params: { reason: 'the account is suspended: settle or lift that first' } } },
        PaymentProcessed: [{ guard: 'chargeRefused', actions: 'refuseCharge' }, { guard: 'heldSuspended', actions: 'charge' }, { target: 'Active', actions: 'charge' }],
        PaymentFailed: [{ guard: 'chargeRefused', actions: 'refuseCharge' }, { actions: 'charge' }],
        UsageExceedsQuota: { actions: 'recordActivity' },
        ManualSuspension: [{ guard: 'sameHold', actions: 'alreadyHeld' }, { guard: 'asksReview', target: 'UnderReview', actions: 'hold' }, { actions: 'hold' }],
        SuspensionLifted: [
          { guard: 'notHeld', actions: { type: 'notApplicable', params: { reason: 'no hold to lift' } } },
          { guard: 'dunningSuspended', actions: 'lift' },
          { guard: 'dunningPastDue', target: 'PastDue', actions: 'lift' },
          { target: 'Active', actions: 'lift' },
        ],
        timeout: { target: 'Deactivated' },
      },
    },
    UnderReview: {
      on: {
        CustomerSubscribes: { actions: { type: 'reject', params: { reason: 'the account is suspended: settle or lift that first' } } },
        PaymentProcessed: [{ guard: 'chargeRefused', actions: 'refuseCharge' }, { actions: 'charge' }],
        PaymentFailed: [{ guard: 'chargeRefused', actions: 'refuseCharge' }, { actions: 'charge' }],
        UsageExceedsQuota: { actions: 'recordActivity' },
        ManualSuspension: [{ guard: 'sameHold', actions: 'alreadyHeld' }, { target: 'Suspended', actions: 'hold' }],
        SuspensionLifted: [
          { guard: 'dunningSuspended', target: 'Suspended', actions: 'lift' },
          { guard: 'dunningPastDue', target: 'PastDue', actions: 'lift' },
          { target: 'Active', actions: 'lift' },
        ],
        timeout: { target: 'Deactivated' },
      },
    },
    Deactivated: {
      on: {
        CustomerSubscribes: { target: 'Active', actions: 'open' },
        PaymentProcessed: { actions: noOpenAccount('Deactivated') },
        PaymentFailed: { actions: noOpenAccount('Deactivated') },
        UsageExceedsQuota: { actions: noOpenAccount('Deactivated') },
        ManualSuspension: { actions: noOpenAccount('Deactivated') },
        // The appeal path the seeds never had: a lifted hold restores the account, also within
        // the retention window after deactivation.
        SuspensionLifted: [
          { guard: 'dunningSuspended', target: 'Suspended', actions: 'lift' },
          { guard: 'dunningPastDue', target: 'PastDue', actions: 'lift' },
          { target: 'Active', actions: 'lift' },
        ],
        timeout: { target: 'Archived', actions: 'forget' },
      },
    },
    Archived: {
      on: {
        CustomerSubscribes: { actions: { type: 'reject', params: { reason: 'the account was archived after its retention period: open a new account' } } },
        PaymentProcessed: { actions: noOpenAccount('Archived') },
        PaymentFailed: { actions: noOpenAccount('Archived') },
        UsageExceedsQuota: { actions: noOpenAccount('Archived') },
        ManualSuspension: { actions: noOpenAccount('Archived') },
        SuspensionLifted: { actions: { type: 'notApplicable', params: { reason: 'no hold to lift' } } },
      },
    },
  },
});

export const customerAccountGovernor = governorFromMachine<AccountState, D>(customerAccountDomain, {
  kind: 'CustomerAccount',
  init: () => INITIAL,
  timing: {
    Onboarding: { ms: ONBOARDING_DAYS * DAY_MS },
    PastDue: { ms: DEFAULT_DUNNING_SCHEDULE.graceDays * DAY_MS },
    Suspended: { ms: SUSPENDED_DAYS * DAY_MS },
    UnderReview: { ms: REVIEW_DAYS * DAY_MS },
    Deactivated: { ms: RETENTION_DAYS * DAY_MS },
  },
  facts: (state) => ({ account: accountStanding(state) }),
});

/** The pure decision of the CustomerAccount governor: its machine, taken one event. */
export const decideAccount = (state: AccountState, data: D, event: LifecycleEvent, customerId = event.customerId) => customerAccountGovernor.decide(state, data, event, customerId);

export const customerAccountMachine = defineGovernor(customerAccountGovernor);
