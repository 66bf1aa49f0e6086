import { describe, it, expect } from 'vitest';
import {
  TIERS,
  TIER_IDS,
  FEATURES,
  UNLIMITED,
  downgradePaths,
  hasFeature,
  isTierId,
  remainingUnder,
  tierChange,
  upgradePaths,
  withinLimit,
} from '../../src/marketplace/tiers.ts';

describe('tier limits (SPEC §4)', () => {
  it.each([
    ['community', 5, 1_000, 1, 10, 5],
    ['professional', 100, 100_000, 10, 100, 100],
    ['enterprise', UNLIMITED, UNLIMITED, 100, 1_000, UNLIMITED],
  ] as const)('%s: workflows %s, executions %s, concurrency %s, %s req/s, %s downloads a day', (tier, wf, ex, cc, rps, dl) => {
    expect(TIERS[tier].limits).toEqual({
      workflows: wf,
      executionsPerMonth: ex,
      concurrentExecutions: cc,
      requestsPerSecond: rps,
      templateDownloadsPerDay: dl,
    });
  });

  it('checks limits at the boundary', () => {
    expect(withinLimit(TIERS.community.limits.workflows, 5)).toBe(true);
    expect(withinLimit(TIERS.community.limits.workflows, 6)).toBe(false);
    expect(withinLimit(TIERS.enterprise.limits.workflows, 10 ** 12)).toBe(true);
    expect(remainingUnder(TIERS.community.limits.executionsPerMonth, 999)).toBe(1);
    expect(remainingUnder(TIERS.community.limits.executionsPerMonth, 5_000)).toBe(0);
    expect(remainingUnder(UNLIMITED, 5)).toBe(Number.POSITIVE_INFINITY);
  });

  it('survives a JSON round trip unchanged (no Infinity in the data)', () => {
    expect(JSON.parse(JSON.stringify(TIERS))).toEqual(TIERS);
  });
});

describe('feature gates', () => {
  it.each([
    ['community', []],
    ['professional', ['cloud_deployment', 'custom_domains']],
    ['enterprise', ['cloud_deployment', 'custom_domains', 'multi_region', 'priority_support', 'sso']],
  ] as const)('%s has exactly %j', (tier, enabled) => {
    expect(FEATURES.filter((f) => hasFeature(tier, f))).toEqual(enabled);
  });

  it('a higher tier never loses a feature of a lower one', () => {
    for (const feature of FEATURES) {
      for (let i = 1; i < TIER_IDS.length; i += 1) {
        const lower = TIER_IDS[i - 1]!;
        const higher = TIER_IDS[i]!;
        if (hasFeature(lower, feature)) expect(hasFeature(higher, feature)).toBe(true);
      }
    }
  });

  it('per-licence overrides win in both directions and ignore inherited keys', () => {
    expect(hasFeature('professional', 'sso', { sso: true })).toBe(true);
    expect(hasFeature('professional', 'cloud_deployment', { cloud_deployment: false })).toBe(false);
    const hostile = JSON.parse('{"__proto__": {"sso": true}}') as Record<string, boolean>;
    expect(hasFeature('community', 'sso', hostile)).toBe(false);
  });
});

describe('tier changes', () => {
  it('classifies every pair', () => {
    expect(tierChange('community', 'professional')).toBe('upgrade');
    expect(tierChange('community', 'enterprise')).toBe('upgrade');
    expect(tierChange('enterprise', 'professional')).toBe('downgrade');
    expect(tierChange('professional', 'professional')).toBe('none');
    expect(upgradePaths('community')).toEqual(['professional', 'enterprise']);
    expect(upgradePaths('enterprise')).toEqual([]);
    expect(downgradePaths('enterprise')).toEqual(['professional', 'community']);
    expect(downgradePaths('community')).toEqual([]);
  });

  it('recognises tier ids only', () => {
    expect(isTierId('professional')).toBe(true);
    expect(isTierId('Professional')).toBe(false);
    expect(isTierId('toString')).toBe(false);
    expect(isTierId(1)).toBe(false);
  });
});
