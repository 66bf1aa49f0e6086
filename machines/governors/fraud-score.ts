/**
 * The fraud score of the seeds' CustomerAccount, kept as they specified it:
 *
 *   score = (40·velocity + 30·geo + 20·usage + 10·behaviour) / 100, capped at 100
 *   velocity  = min(charge attempts in 24 h, 50) × 2
 *   geo       = 85 when the country changed within an hour (no event carries a country yet: 0)
 *   usage     = 80 when under 30 % of activity falls in 09:00–17:00 UTC (with ≥ 5 samples)
 *   behaviour = min(rapid actions, 100): charge attempts less than a minute after the previous one
 *
 * Bands: 0–30 ok, 31–70 closer checks for 3 days, 71–90 suspend, 91–100 review. A score is a
 * heuristic, not money: plain numbers, rounded half up to a whole point before banding.
 */

export interface FraudSignals {
  /** Charge attempts (payments and failures) in the last 24 hours, this one included. */
  readonly chargesLast24h: number;
  readonly countryChangedWithin1h: boolean;
  /** Epoch ms of recent activity (usage signals), to find the share in business hours. */
  readonly activity: readonly number[];
  readonly rapidActions: number;
}

export type FraudBand = 'ok' | 'closer_checks' | 'suspend' | 'review';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Activity samples needed before the usage-hours signal counts. */
export const MIN_ACTIVITY_SAMPLES = 5;

/** Share of `activity` between 09:00 and 17:00 UTC, or null with too few samples. */
export function businessHoursShare(activity: readonly number[]): number | null {
  if (activity.length < MIN_ACTIVITY_SAMPLES) return null;
  const inHours = activity.filter((at) => {
    const hour = new Date(at).getUTCHours();
    return hour >= 9 && hour < 17;
  }).length;
  return inHours / activity.length;
}

/** The score, 0–100, as a whole number. */
export function fraudScore(signals: FraudSignals): number {
  const velocity = Math.min(Math.max(0, signals.chargesLast24h), 50) * 2;
  const geo = signals.countryChangedWithin1h ? 85 : 0;
  const share = businessHoursShare(signals.activity);
  const usage = share !== null && share < 0.3 ? 80 : 0;
  const behaviour = Math.min(Math.max(0, signals.rapidActions), 100);
  // Integer arithmetic until the one division: no float drift between 30 and 31.
  const hundredths = 40 * velocity + 30 * geo + 20 * usage + 10 * behaviour;
  return Math.min(100, Math.floor((hundredths + 50) / 100));
}

export function fraudBand(score: number): FraudBand {
  if (score <= 30) return 'ok';
  if (score <= 70) return 'closer_checks';
  if (score <= 90) return 'suspend';
  return 'review';
}

/** The signals of a charge attempt at `at`, given earlier attempts (epoch ms, any order). */
export function chargeSignals(previousCharges: readonly number[], at: number, activity: readonly number[]): FraudSignals {
  const window = [...previousCharges.filter((t) => at - t < DAY_MS && t <= at), at].sort((a, b) => a - b);
  let rapid = 0;
  for (let i = 1; i < window.length; i++) if (window[i]! - window[i - 1]! < 60_000) rapid++;
  return { chargesLast24h: window.length, countryChangedWithin1h: false, activity, rapidActions: rapid };
}
