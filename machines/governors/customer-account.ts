import { DEFAULT_DUNNING_SCHEDULE } from '../../src/marketplace/dunning.ts';
import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime, type Decision, type GovernorDefinition } from './governor-kit.ts';
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

const LIVE: readonly S[] = ['Active', 'PastDue', 'Suspended', 'UnderReview'];
const KEPT_SAMPLES = 50;
export const ONBOARDING_DAYS = 7;
export const SUSPENDED_DAYS = 30;
export const REVIEW_DAYS = 14;
export const RETENTION_DAYS = 30;
export const CLOSER_CHECK_DAYS = 3;

/** Words in a suspension's reason that make it a review rather than a plain suspension. */
const REVIEW_REASON = /review|fraud|investigat/i;

function liveState(data: D): S {
  if (data.hold === 'review') return 'UnderReview';
  if (data.hold === 'suspended' || data.dunning === 'suspended') return 'Suspended';
  return data.dunning === 'past_due' ? 'PastDue' : 'Active';
}

/** The account's standing, as the conflict rules read it (`account: 'suspended'`). */
export function accountStanding(state: S): 'good' | 'onboarding' | 'past_due' | 'suspended' {
  if (state === 'Active') return 'good';
  if (state === 'Onboarding') return 'onboarding';
  return state === 'PastDue' ? 'past_due' : 'suspended';
}

const applied = (state: S, data: D): Decision<S, D> => ({ status: 'applied', next: { state, data } });
const rejected = (reason: string): Decision<S, D> => ({ status: 'rejected', reason });
const notApplicable = (reason: string): Decision<S, D> => ({ status: 'not_applicable', reason });

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

/** The pure decision of the CustomerAccount governor. */
export function decideAccount(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  const live = LIVE.includes(state);
  const at = eventTime(event);
  switch (event.type) {
    case 'CustomerSubscribes': {
      // A subscribe that gives a contact replaces the record; one that gives none keeps it.
      const contact = isContact(event.contact) ? event.contact : (data.contact ?? null);
      if (state === 'Onboarding' || state === 'Deactivated') {
        return applied('Active', { ...data, hold: 'none', holdReason: null, dunning: 'none', openedAt: data.openedAt ?? at, contact });
      }
      if (state === 'Active') {
        return canonicalJson(contact) !== canonicalJson(data.contact ?? null) ? applied('Active', { ...data, contact }) : notApplicable('the account is open');
      }
      if (state === 'Archived') return rejected('the account was archived after its retention period: open a new account');
      return rejected(`the account is ${accountStanding(state).replace('_', ' ')}: settle or lift that first`);
    }
    case 'CustomerErasureRequested': {
      // Personal data goes; the standing stays (it is the contract's, and other governors rely on it).
      const reasonErased = data.holdReason === null || data.holdReason === ERASED;
      if ((data.contact ?? null) === null && reasonErased) return notApplicable('no personal data held');
      return applied(state, { ...data, contact: null, holdReason: data.holdReason === null ? null : ERASED });
    }
    case 'PaymentProcessed':
    case 'PaymentFailed': {
      if (!live) return notApplicable(`no open account (${state.toLowerCase()})`);
      const scored = charge(data, at);
      if ('refused' in scored) return rejected(scored.refused);
      const dunning = event.type === 'PaymentProcessed' ? 'none' : data.dunning === 'none' ? 'past_due' : data.dunning;
      const next = { ...scored.data, dunning } as D;
      return applied(liveState(next), next);
    }
    case 'UsageExceedsQuota':
      if (!live) return notApplicable(`no open account (${state.toLowerCase()})`);
      return applied(state, { ...data, activity: [...data.activity, at].slice(-KEPT_SAMPLES) });
    case 'ManualSuspension': {
      if (!live && state !== 'Onboarding') return notApplicable(`no open account (${state.toLowerCase()})`);
      const reason = typeof event.reason === 'string' ? event.reason : '';
      const hold = REVIEW_REASON.test(reason) ? 'review' : 'suspended';
      if (data.hold === hold) return notApplicable(`already ${hold === 'review' ? 'under review' : 'suspended'}`);
      const next: D = { ...data, hold, holdReason: `${String(event.actor)}: ${reason}` };
      return applied(liveState(next), next);
    }
    case 'SuspensionLifted': {
      // The appeal path the seeds never had: a lifted hold restores the account, also within
      // the retention window after deactivation.
      if (state === 'Deactivated') return applied(liveState({ ...data, hold: 'none' }), { ...data, hold: 'none', holdReason: null });
      if (!live || data.hold === 'none') return notApplicable('no hold to lift');
      const next: D = { ...data, hold: 'none', holdReason: null };
      return applied(liveState(next), next);
    }
    case 'CustomerCancels':
      return notApplicable('the account outlives its subscriptions');
    default:
      return notApplicable(`CustomerAccount does not handle ${event.type}`);
  }
}

export const customerAccountGovernor: GovernorDefinition<S, D> = {
  kind: 'CustomerAccount',
  states: ACCOUNT_STATES,
  initial: 'Onboarding',
  init: () => ({ hold: 'none', holdReason: null, dunning: 'none', charges: [], activity: [], lastScore: 0, closerChecksUntil: null, openedAt: null, contact: null }),
  decide: decideAccount,
  targets: ['Active', 'PastDue', 'Suspended', 'UnderReview'],
  timeouts: {
    Onboarding: { ms: ONBOARDING_DAYS * DAY_MS, to: 'Deactivated' },
    // The same grace as Billing's dunning and Entitlement's: all three suspend at one instant.
    PastDue: { ms: DEFAULT_DUNNING_SCHEDULE.graceDays * DAY_MS, to: 'Suspended', update: (data) => ({ ...data, dunning: 'suspended' }) },
    Suspended: { ms: SUSPENDED_DAYS * DAY_MS, to: 'Deactivated' },
    UnderReview: { ms: REVIEW_DAYS * DAY_MS, to: 'Deactivated' },
    // Retention over: keep the standing, forget the behaviour.
    Deactivated: { ms: RETENTION_DAYS * DAY_MS, to: 'Archived', update: (data) => ({ ...data, charges: [], activity: [], holdReason: null, closerChecksUntil: null }) },
  },
  facts: (state) => ({ account: accountStanding(state) }),
};

export const customerAccountMachine = defineGovernor(customerAccountGovernor);
