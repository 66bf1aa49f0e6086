import { InvalidArgumentError } from './errors.ts';

/**
 * Dunning: what happens after a failed payment, as data.
 *
 * The default follows the waits of the Billing governor in the seeds: retry 2 days after the
 * failure, then 1 day later, then 3 days later; service continues through a 7-day grace period,
 * is suspended when it ends, and the debt goes to collections 7 days after the last retry. A
 * successful payment at any point ends dunning (that is the caller's transition, not ours).
 */

/** A dunning schedule; all offsets are whole days after the first failed payment. */
export interface DunningSchedule {
  /** Day offsets of the payment retries, strictly increasing. */
  readonly retryAfterDays: readonly number[];
  /** Days the service stays on while unpaid. Suspension happens when grace ends. */
  readonly graceDays: number;
  /** Day the unpaid account goes to collections; after grace and after the last retry. */
  readonly collectionsAfterDays: number;
}

/** The default schedule (see the module comment). */
export const DEFAULT_DUNNING_SCHEDULE: DunningSchedule = {
  retryAfterDays: [2, 3, 6],
  graceDays: 7,
  collectionsAfterDays: 13,
};

/** One scheduled dunning action. */
export interface DunningStep {
  /** Epoch ms. */
  readonly at: number;
  readonly action: 'retry_payment' | 'suspend_service' | 'send_to_collections';
  /** 1-based retry number, for `retry_payment`. */
  readonly attempt?: number;
}

/** Where an unpaid account stands. */
export interface DunningState {
  /** `grace`: service on, retrying; `suspended`: service off; `collections`: handed over. */
  readonly stage: 'grace' | 'suspended' | 'collections';
  /** Retries whose time has come (including any already made). */
  readonly retriesDue: number;
  /** The next step still ahead, if any. */
  readonly next?: DunningStep;
}

const DAY_MS = 86_400_000;

/** Problems with a schedule, as messages; empty when it is sound. */
export function checkDunningSchedule(schedule: DunningSchedule): string[] {
  const problems: string[] = [];
  const { retryAfterDays: retries, graceDays, collectionsAfterDays } = schedule;
  retries.forEach((day, i) => {
    if (!Number.isInteger(day) || day <= 0) problems.push(`retryAfterDays[${i}] must be a positive integer, got ${day}`);
    const previous = retries[i - 1];
    if (previous !== undefined && day <= previous) problems.push(`retryAfterDays must increase: ${previous} then ${day}`);
  });
  if (!Number.isInteger(graceDays) || graceDays < 0) problems.push(`graceDays must be an integer ≥ 0, got ${graceDays}`);
  const lastRetry = retries.at(-1) ?? 0;
  if (!Number.isInteger(collectionsAfterDays) || collectionsAfterDays <= Math.max(graceDays, lastRetry) - 1) {
    problems.push(`collectionsAfterDays (${collectionsAfterDays}) must be on or after both the end of grace and the last retry`);
  }
  return problems;
}

/**
 * Every step of a schedule for a payment that failed at `failedAt`, in time order.
 * Throws {@link InvalidArgumentError} for an unsound schedule.
 */
export function dunningTimeline(schedule: DunningSchedule, failedAt: number): DunningStep[] {
  const problems = checkDunningSchedule(schedule);
  if (problems.length > 0) throw new InvalidArgumentError('schedule', problems.join('; '));
  const steps: DunningStep[] = schedule.retryAfterDays.map((day, i) => ({
    at: failedAt + day * DAY_MS,
    action: 'retry_payment',
    attempt: i + 1,
  }));
  steps.push({ at: failedAt + schedule.graceDays * DAY_MS, action: 'suspend_service' });
  steps.push({ at: failedAt + schedule.collectionsAfterDays * DAY_MS, action: 'send_to_collections' });
  // Stable sort: on the same day a retry comes before suspension, suspension before collections.
  return steps.sort((a, b) => a.at - b.at);
}

/** Where an account that failed to pay at `failedAt` stands at `now` (still unpaid). */
export function dunningState(schedule: DunningSchedule, failedAt: number, now: number): DunningState {
  const steps = dunningTimeline(schedule, failedAt);
  const past = steps.filter((s) => s.at <= now);
  const next = steps.find((s) => s.at > now);
  const stage = past.some((s) => s.action === 'send_to_collections')
    ? 'collections'
    : past.some((s) => s.action === 'suspend_service')
      ? 'suspended'
      : 'grace';
  const retriesDue = past.filter((s) => s.action === 'retry_payment').length;
  return next ? { stage, retriesDue, next } : { stage, retriesDue };
}
