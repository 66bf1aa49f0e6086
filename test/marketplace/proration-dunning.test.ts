import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { BILLING_CYCLES, cyclePrice, dailyRate, prorateTierChange, type BillingCycle } from '../../src/marketplace/proration.ts';
import { checkDunningSchedule, DEFAULT_DUNNING_SCHEDULE, dunningState, dunningTimeline } from '../../src/marketplace/dunning.ts';
import { Dec } from '../../src/marketplace/money.ts';
import { InvalidArgumentError } from '../../src/marketplace/errors.ts';
import { TIER_IDS } from '../../src/marketplace/tiers.ts';

const DAY = 86_400_000;
const START = Date.parse('2025-03-01T00:00:00Z');

describe('billing cycles', () => {
  it.each([
    ['monthly', '3.3', '99.00'],
    ['annual', '2.97', '1084.05'],
    ['two_year', '2.64', '1927.20'],
    ['three_year', '2.31', '2529.45'],
  ] as const)('Professional %s: daily %s, cycle price %s', (cycle, daily, price) => {
    expect(dailyRate('professional', cycle)).toBe(daily);
    expect(cyclePrice('professional', cycle)).toBe(price);
  });
});

describe('proration of tier changes', () => {
  it('charges an upgrade by the days left, the current day included', () => {
    const at = START + 15 * DAY + 3_600_000; // day 16 of 30 has begun: 15 days left
    expect(prorateTierChange({ from: 'professional', to: 'enterprise', cycle: 'monthly', cycleStart: START, at })).toEqual({
      ok: true,
      change: 'upgrade',
      direction: 'charge',
      amount: '450.00',
      daysLeft: 15,
      oldDailyRate: '3.3',
      newDailyRate: '33.3',
    });
  });

  it('credits a downgrade, with the cycle discount', () => {
    const result = prorateTierChange({ from: 'enterprise', to: 'community', cycle: 'annual', cycleStart: START, at: START });
    // 999 × 0.9 / 30 = 29.97 a day, 365 days
    expect(result).toMatchObject({ ok: true, change: 'downgrade', direction: 'credit', amount: '10939.05', daysLeft: 365 });
  });

  it('rounds once, HALF_UP, on the exact amount', () => {
    // (99 − 0) × 0.8 / 30 = 2.64 a day; community→professional two-year with 1 day left
    const at = START + 729 * DAY;
    expect(prorateTierChange({ from: 'community', to: 'professional', cycle: 'two_year', cycleStart: START, at })).toMatchObject({
      amount: '2.64',
      daysLeft: 1,
    });
  });

  it('refuses same-tier changes and changes outside the cycle instead of wrapping', () => {
    expect(prorateTierChange({ from: 'professional', to: 'professional', cycle: 'monthly', cycleStart: START, at: START })).toMatchObject({
      ok: false,
      reason: 'same_tier',
    });
    for (const at of [START - 1, START + 30 * DAY, START + 400 * DAY]) {
      expect(prorateTierChange({ from: 'community', to: 'enterprise', cycle: 'monthly', cycleStart: START, at })).toMatchObject({
        ok: false,
        reason: 'outside_cycle',
      });
    }
    expect(() => prorateTierChange({ from: 'community', to: 'enterprise', cycle: 'monthly', cycleStart: 0.5, at: 1 })).toThrow(
      InvalidArgumentError,
    );
  });

  it('property: amounts are never negative, and an upgrade then the downgrade back nets to zero', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...TIER_IDS),
        fc.constantFrom(...TIER_IDS),
        fc.constantFrom(...(Object.keys(BILLING_CYCLES) as BillingCycle[])),
        fc.integer({ min: 0, max: 1094 * DAY }),
        (from, to, cycle, offset) => {
          fc.pre(from !== to && offset < BILLING_CYCLES[cycle].days * DAY);
          const at = START + offset;
          const there = prorateTierChange({ from, to, cycle, cycleStart: START, at });
          const back = prorateTierChange({ from: to, to: from, cycle, cycleStart: START, at });
          if (!there.ok || !back.ok) throw new Error('expected both to prorate');
          expect(new Dec(there.amount).gte(0)).toBe(true);
          expect(there.amount).toBe(back.amount);
          expect(there.direction).not.toBe(back.direction);
          expect(there.daysLeft).toBeGreaterThanOrEqual(1);
          expect(there.daysLeft).toBeLessThanOrEqual(BILLING_CYCLES[cycle].days);
        },
      ),
    );
  });
});

describe('dunning schedule', () => {
  const failedAt = Date.parse('2025-03-10T12:00:00Z');

  it('lays out retries, suspension and collections in time order', () => {
    expect(dunningTimeline(DEFAULT_DUNNING_SCHEDULE, failedAt)).toEqual([
      { at: failedAt + 2 * DAY, action: 'retry_payment', attempt: 1 },
      { at: failedAt + 3 * DAY, action: 'retry_payment', attempt: 2 },
      { at: failedAt + 6 * DAY, action: 'retry_payment', attempt: 3 },
      { at: failedAt + 7 * DAY, action: 'suspend_service' },
      { at: failedAt + 13 * DAY, action: 'send_to_collections' },
    ]);
  });

  it.each([
    [0, 'grace', 0, 'retry_payment'],
    [2 * DAY - 1, 'grace', 0, 'retry_payment'],
    [2 * DAY, 'grace', 1, 'retry_payment'],
    [6 * DAY, 'grace', 3, 'suspend_service'],
    [7 * DAY, 'suspended', 3, 'send_to_collections'],
    [13 * DAY, 'collections', 3, undefined],
    [100 * DAY, 'collections', 3, undefined],
  ] as const)('at +%d ms the account is in %s with %d retries due, next %s', (offset, stage, retries, next) => {
    const state = dunningState(DEFAULT_DUNNING_SCHEDULE, failedAt, failedAt + offset);
    expect(state.stage).toBe(stage);
    expect(state.retriesDue).toBe(retries);
    expect(state.next?.action).toBe(next);
  });

  it('refuses unsound schedules', () => {
    expect(checkDunningSchedule(DEFAULT_DUNNING_SCHEDULE)).toEqual([]);
    expect(checkDunningSchedule({ retryAfterDays: [3, 2], graceDays: 7, collectionsAfterDays: 13 })).toHaveLength(1);
    expect(checkDunningSchedule({ retryAfterDays: [0], graceDays: -1, collectionsAfterDays: 13 })).toHaveLength(2);
    expect(checkDunningSchedule({ retryAfterDays: [2, 20], graceDays: 7, collectionsAfterDays: 13 })).toHaveLength(1);
    expect(() => dunningTimeline({ retryAfterDays: [1.5], graceDays: 7, collectionsAfterDays: 13 }, failedAt)).toThrow(
      InvalidArgumentError,
    );
  });
});
