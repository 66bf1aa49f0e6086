import { readFileSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  estimateMonthlyCost,
  HOURS_PER_MONTH,
  InvalidDeploymentOptionError,
  InvalidReplicasError,
  PROVIDERS,
  RATE_TABLE,
  RATES_AS_OF,
  recommendSavings,
  TIERS,
  UnknownProviderError,
  type CloudProvider,
  type DeploymentTier,
} from '../../src/deployment/index.ts';

describe('monthly cost estimates (tier defaults)', () => {
  // Worked out by hand from the rate table: lines rounded to the cent, totals summed from them.
  // aws/professional/min: 2 × 2 vCPU × 730 h × 0.04048 = 118.20; 2 × 4 GB × 730 × 0.004445 = 25.96;
  // Redis 217.54; 100 GB × 0.09 = 9.00; total 370.70.
  it.each<[CloudProvider, DeploymentTier, string, string]>([
    ['aws', 'community', '59.85', '131.93'],
    ['aws', 'professional', '370.70', '947.34'],
    ['aws', 'enterprise', '1932.54', '5824.87'],
    ['gcp', 'community', '76.05', '155.39'],
    ['gcp', 'professional', '407.21', '1041.96'],
    ['gcp', 'enterprise', '2511.18', '6795.74'],
    ['azure', 'community', '76.60', '148.60'],
    ['azure', 'professional', '314.78', '890.83'],
    ['azure', 'enterprise', '2112.35', '6000.73'],
  ])('%s / %s: $%s at min replicas, $%s at max', (provider, tier, atMin, atMax) => {
    const estimate = estimateMonthlyCost({ provider, tier });
    expect(estimate.atMin.total).toBe(atMin);
    expect(estimate.atMax.total).toBe(atMax);
    expect(estimate).toMatchObject({ currency: 'USD', ratesAsOf: RATES_AS_OF, hoursPerMonth: 730, region: RATE_TABLE[provider].region });
  });

  it('itemises compute, memory, Redis and egress', () => {
    const { atMin } = estimateMonthlyCost({ provider: 'aws', tier: 'professional' });
    expect(atMin.lines.map((line) => [line.item, line.monthly])).toEqual([
      ['compute-cpu', '118.20'],
      ['compute-memory', '25.96'],
      ['redis', '217.54'],
      ['egress', '9.00'],
    ]);
    expect(atMin.lines[0]!.description).toContain('2 × 2 vCPU × 730 h at $0.04048/vCPU-h');
  });
});

describe('monthly cost estimates (given replicas, sizes and egress)', () => {
  it.each<[string, Parameters<typeof estimateMonthlyCost>[0], string, string]>([
    ['2..6 replicas', { provider: 'aws', tier: 'professional', replicas: { min: 2, max: 6 } }, '370.70', '659.02'],
    ['fixed 4 replicas', { provider: 'gcp', tier: 'community', replicas: { min: 4, max: 4 } }, '195.06', '195.06'],
    ['no egress', { provider: 'azure', tier: 'enterprise', egressGb: 0 }, '1242.35', '5130.73'],
    ['half-core pods', { provider: 'aws', tier: 'community', size: { cpu: 0.5, memoryGiB: 1 } }, '41.83', '77.87'],
  ])('%s', (_, options, atMin, atMax) => {
    const estimate = estimateMonthlyCost(options);
    expect([estimate.atMin.total, estimate.atMax.total]).toEqual([atMin, atMax]);
  });

  it('adds up exactly: the total is the sum of its lines, in decimals (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PROVIDERS),
        fc.constantFrom(...TIERS),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 100_000 }),
        (provider, tier, min, extra, egressGb) => {
          const estimate = estimateMonthlyCost({ provider, tier, replicas: { min, max: Math.min(1_000, min + extra) }, egressGb });
          for (const breakdown of [estimate.atMin, estimate.atMax]) {
            const sum = breakdown.lines.reduce((total, line) => total.plus(line.monthly), new Decimal(0));
            expect(sum.toFixed(2)).toBe(breakdown.total);
            for (const line of breakdown.lines) expect(line.monthly).toMatch(/^\d+\.\d{2}$/);
          }
          expect(new Decimal(estimate.atMax.total).greaterThanOrEqualTo(estimate.atMin.total)).toBe(true);
        },
      ),
    );
  });

  it('grows with replicas by one pod-month per pod, give or take a rounding cent per line', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROVIDERS), fc.constantFrom(...TIERS), fc.integer({ min: 1, max: 500 }), (provider, tier, n) => {
        const one = estimateMonthlyCost({ provider, tier, replicas: { min: n, max: n + 1 } });
        const step = new Decimal(one.atMax.total).minus(one.atMin.total);
        expect(step.minus(one.perReplicaMonthly).abs().lessThanOrEqualTo('0.02')).toBe(true);
      }),
    );
  });

  it.each<[string, Parameters<typeof estimateMonthlyCost>[0], new (...args: never[]) => Error]>([
    ['unknown provider', { provider: 'oracle' as CloudProvider, tier: 'community' }, UnknownProviderError],
    ['inverted replicas', { provider: 'aws', tier: 'community', replicas: { min: 3, max: 1 } }, InvalidReplicasError],
    ['negative egress', { provider: 'aws', tier: 'community', egressGb: -5 }, InvalidDeploymentOptionError],
    ['zero CPU', { provider: 'aws', tier: 'community', size: { cpu: 0, memoryGiB: 1 } }, InvalidDeploymentOptionError],
    ['infinite memory', { provider: 'aws', tier: 'community', size: { cpu: 1, memoryGiB: Infinity } }, InvalidDeploymentOptionError],
  ])('refuses %s', (_, options, errorClass) => {
    expect(() => estimateMonthlyCost(options)).toThrow(errorClass);
  });
});

describe('savings recommendations', () => {
  it('right-sizes from measured usage at the autoscaler targets, and names a cheaper provider', () => {
    // Measured 0.6 vCPU, 1.5 GiB → 0.6 ÷ 0.7 → 1 vCPU; 1.5 ÷ 0.8 → 2 GiB. Resized: 262.58 (saves 36.04).
    // Azure at the same sizing: 242.76 (saves 55.86).
    const { estimate, recommendations } = recommendSavings({ provider: 'aws', tier: 'professional', replicas: { min: 1, max: 10 }, usage: { cpu: 0.6, memoryGiB: 1.5 } });
    expect(estimate.atMin.total).toBe('298.62');
    expect(recommendations.map((r) => [r.kind, r.monthlySaving])).toEqual([
      ['cheaper-provider', '55.86'],
      ['right-size', '36.04'],
    ]);
    expect(recommendations[0]!.action).toContain('azure (eastus) at $242.76');
    expect(recommendations[1]!.action).toContain('request 1 vCPU and 2 GiB per pod instead of 2 vCPU and 4 GiB');
  });

  it('suggests fewer pods off-peak when the floor has more than one', () => {
    // 3 → 2 pods for 12 h a day: 1 × (4 × 0.04048 + 8 × 0.004445) × 12 × 730 ÷ 24 = 72.08.
    const { recommendations } = recommendSavings({ provider: 'aws', tier: 'enterprise' });
    expect(recommendations).toEqual([
      { kind: 'off-peak', action: expect.stringContaining('run 2 instead of 3 pods for 12 quiet hours a day'), monthlySaving: '72.08' },
    ]);
  });

  it.each<[string, Parameters<typeof recommendSavings>[0], [string, string][]]>([
    ['already cheapest, one pod, no usage: nothing to say', { provider: 'aws', tier: 'community' }, []],
    ['usage above the current size: no right-sizing', { provider: 'azure', tier: 'professional', replicas: { min: 1, max: 10 }, usage: { cpu: 1.9, memoryGiB: 3.9 } }, []],
    [
      'idle pods shrink to the smallest billing step',
      { provider: 'azure', tier: 'community', usage: { cpu: 0, memoryGiB: 0 } },
      // 0.25 vCPU, 0.5 GiB: 49.59 instead of 76.60; AWS runs the current sizing for 59.85.
      [['right-size', '27.01'], ['cheaper-provider', '16.75']],
    ],
    [
      'custom quiet period',
      { provider: 'gcp', tier: 'professional', replicas: { min: 6, max: 10 }, offPeak: { hoursPerDay: 8, replicas: 2 } },
      // 4 fewer pods × (2 × 0.0445 + 4 × 0.0049225) × 8 h × 730 ÷ 24 = 105.79.
      [['cheaper-provider', '121.77'], ['off-peak', '105.79']],
    ],
  ])('%s', (_, options, expected) => {
    expect(recommendSavings(options).recommendations.map((r) => [r.kind, r.monthlySaving])).toEqual(expected);
  });

  it('never recommends a negative or zero saving (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PROVIDERS),
        fc.constantFrom(...TIERS),
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 8, noNaN: true }),
        fc.double({ min: 0, max: 16, noNaN: true }),
        (provider, tier, min, cpu, memoryGiB) => {
          const { recommendations } = recommendSavings({ provider, tier, replicas: { min, max: min }, usage: { cpu, memoryGiB } });
          for (const recommendation of recommendations) expect(new Decimal(recommendation.monthlySaving).greaterThan(0)).toBe(true);
          const savings = recommendations.map((r) => new Decimal(r.monthlySaving));
          expect(savings.every((saving, i) => i === 0 || saving.lessThanOrEqualTo(savings[i - 1]!))).toBe(true);
        },
      ),
    );
  });

  it('refuses nonsense usage and quiet periods', () => {
    expect(() => recommendSavings({ provider: 'aws', tier: 'community', usage: { cpu: -1, memoryGiB: 1 } })).toThrow(InvalidDeploymentOptionError);
    expect(() => recommendSavings({ provider: 'aws', tier: 'enterprise', offPeak: { hoursPerDay: 24 } })).toThrow(InvalidDeploymentOptionError);
    expect(() => recommendSavings({ provider: 'aws', tier: 'enterprise', offPeak: { hoursPerDay: 8, replicas: 0 } })).toThrow(
      InvalidDeploymentOptionError,
    );
  });
});

describe('the rate table', () => {
  it.each(PROVIDERS)('%s: monthly Redis prices are the quoted hourly prices × 730', (provider) => {
    for (const tier of TIERS) {
      const { product, monthly } = RATE_TABLE[provider].redis[tier];
      const nodes = Number(/× (\d+)/.exec(product)?.[1] ?? 1);
      const perGb = /(\d+) GB \(\$([\d.]+)\/GB-h\)/.exec(product);
      const hourly = perGb ? new Decimal(perGb[1]!).times(perGb[2]!) : new Decimal(/\$([\d.]+)\/h/.exec(product)![1]!).times(nodes);
      expect(hourly.times(HOURS_PER_MONTH).toFixed(2)).toBe(monthly);
    }
  });

  it('is documented, dated and sourced in docs/deployment-rates.md, figure for figure', () => {
    const doc = readFileSync(new URL('../../docs/deployment-rates.md', import.meta.url), 'utf8');
    expect(doc).toContain(RATES_AS_OF);
    expect(doc).toMatch(/approximate/i);
    for (const rates of Object.values(RATE_TABLE)) {
      for (const figure of [rates.vcpuHour, rates.gbHour, rates.egressPerGb, ...Object.values(rates.redis).map((redis) => redis.monthly)]) {
        expect(doc, `${rates.provider} ${figure}`).toContain(figure);
      }
      for (const source of rates.sources) expect(doc, source).toContain(source);
    }
  });
});
