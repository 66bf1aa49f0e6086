import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { estimateCost, priceUsage, PRICE_PLANS, type UsageQuantities } from '../../src/marketplace/pricing.ts';
import { Dec, formatCents, formatDecimal, parseAmount, parseQuantity, roundToCents } from '../../src/marketplace/money.ts';
import { InvalidAmountError } from '../../src/marketplace/errors.ts';
import type { TierId } from '../../src/marketplace/tiers.ts';

describe('exact money', () => {
  it.each([
    ['0.125', '0.13'],
    ['0.124999', '0.12'],
    ['0.005', '0.01'],
    ['0.00499', '0.00'],
    ['1.995', '2.00'],
    ['123456789012345678901234567.115', '123456789012345678901234567.12'],
  ])('rounds %s HALF_UP to %s', (input, expected) => {
    expect(formatCents(parseAmount(input))).toBe(expected);
  });

  it('has no binary floating-point error', () => {
    expect(formatDecimal(new Dec('0.1').plus('0.2'))).toBe('0.3');
    expect(formatDecimal(parseQuantity(0.1).plus(parseQuantity(0.2)))).toBe('0.3');
    expect(formatDecimal(new Dec('0.00001').times(1_000_000))).toBe('10');
    expect(formatDecimal(new Dec('0.0000001'))).toBe('0.0000001');
    expect(roundToCents(new Dec('2.675')).toFixed(2)).toBe('2.68'); // 2.675 as a float rounds to 2.67
  });

  it.each([[12.5], ['-1'], ['1e3'], ['01'], ['1.'], [' 1'], ['1,000'], ['Infinity'], ['NaN'], [''], [null], ['1'.repeat(31)]])(
    'refuses %j as an amount',
    (value) => {
      expect(() => parseAmount(value)).toThrow(InvalidAmountError);
    },
  );

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY], ['-0.1'], [{}]])('refuses %j as a quantity', (value) => {
    expect(() => parseQuantity(value)).toThrow(InvalidAmountError);
  });
});

describe('pricing per tier and boundary', () => {
  const cases: Array<[TierId, UsageQuantities, string, string[]]> = [
    // Community: $0, hard allowances, API calls not metered
    ['community', {}, '0.00', []],
    ['community', { executions: 1_000, compute_gb_hours: 10, transfer_gb: 5 }, '0.00', []],
    ['community', { executions: 1_001 }, '0.00', ['executions']],
    ['community', { compute_gb_hours: '10.001', transfer_gb: '5.5' }, '0.00', ['compute_gb_hours', 'transfer_gb']],
    ['community', { api_calls: 1_000_000_000 }, '0.00', []],
    // Professional: $99 with 100,000 / 500 GB-h / 100 GB included
    ['professional', {}, '99.00', []],
    ['professional', { executions: 100_000, compute_gb_hours: 500, transfer_gb: 100 }, '99.00', []],
    ['professional', { executions: 100_001 }, '99.01', []],
    ['professional', { compute_gb_hours: '500.1' }, '99.01', []], // 0.005 rounds up
    ['professional', { compute_gb_hours: '500.09' }, '99.00', []], // 0.0045 rounds down
    ['professional', { transfer_gb: 101 }, '99.10', []],
    ['professional', { api_calls: 1 }, '99.00', []], // 0.00001 rounds to 0.00
    ['professional', { api_calls: 499 }, '99.00', []],
    ['professional', { api_calls: 500 }, '99.01', []],
    ['professional', { executions: 150_000, compute_gb_hours: 600, transfer_gb: 120, api_calls: 1_000_000 }, '616.00', []],
    // Enterprise: $999, unlimited executions, 100,000 GB-h, 10,000 GB
    ['enterprise', {}, '999.00', []],
    ['enterprise', { executions: 10 ** 12, compute_gb_hours: 100_000, transfer_gb: 10_000 }, '999.00', []],
    ['enterprise', { compute_gb_hours: 100_001 }, '999.03', []],
    ['enterprise', { transfer_gb: 10_001 }, '999.05', []],
    ['enterprise', { api_calls: 1_000_000 }, '1004.00', []],
  ];

  it.each(cases)('%s with %j costs %s (over limit: %j)', (tier, usage, total, overLimit) => {
    const priced = priceUsage(tier, usage);
    expect(priced.total).toBe(total);
    expect(priced.overLimit).toEqual(overLimit);
  });

  it('itemises the 616.00 USD Professional example', () => {
    const priced = priceUsage('professional', {
      executions: 150_000,
      compute_gb_hours: 600,
      transfer_gb: 120,
      api_calls: 1_000_000,
    });
    expect(priced.lines.map((l) => [l.code, l.quantity, l.unitPrice, l.amount])).toEqual([
      ['base_fee', '1', '99', '99.00'],
      ['overage.executions', '50000', '0.01', '500.00'],
      ['overage.compute_gb_hours', '100', '0.05', '5.00'],
      ['overage.transfer_gb', '20', '0.1', '2.00'],
      ['overage.api_calls', '1000000', '0.00001', '10.00'],
    ]);
  });

  it('Enterprise overage rates are lower than Professional ones', () => {
    for (const metric of ['compute_gb_hours', 'transfer_gb', 'api_calls'] as const) {
      const pro = PRICE_PLANS.professional.metrics[metric].overageRate;
      const ent = PRICE_PLANS.enterprise.metrics[metric].overageRate;
      expect(new Dec(ent!).lt(pro!)).toBe(true);
    }
  });

  it('a usage total never decreases when usage grows', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<TierId>('community', 'professional', 'enterprise'),
        fc.nat(500_000),
        fc.nat(500_000),
        fc.nat(5_000_000),
        (tier, a, extra, api) => {
          const low = priceUsage(tier, { executions: a, api_calls: api });
          const high = priceUsage(tier, { executions: a + extra, api_calls: api });
          expect(new Dec(high.total).gte(low.total)).toBe(true);
        },
      ),
    );
  });

  it('refuses negative or float-garbage usage', () => {
    expect(() => priceUsage('professional', { executions: -1 })).toThrow(InvalidAmountError);
    expect(() => priceUsage('professional', { executions: Number.NaN })).toThrow(/usage\.executions/);
  });
});

describe('cost estimates before execution', () => {
  it('reports what one more execution adds', () => {
    expect(estimateCost('professional', { executions: 99_999 }, { executions: 1 })).toEqual({
      before: '99.00',
      after: '99.00',
      incremental: '0.00',
      allowed: true,
      overLimit: [],
    });
    expect(estimateCost('professional', { executions: 100_000 }, { executions: 10, compute_gb_hours: '0.5' })).toMatchObject({
      incremental: '0.10',
      allowed: true,
    });
  });

  it('refuses what would cross a Community hard allowance', () => {
    expect(estimateCost('community', { executions: 999 }, { executions: 1 })).toMatchObject({ allowed: true });
    expect(estimateCost('community', { executions: 1_000 }, { executions: 1 })).toMatchObject({
      allowed: false,
      overLimit: ['executions'],
      incremental: '0.00',
    });
  });
});
