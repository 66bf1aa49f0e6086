import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { buildMonthlyInvoice } from '../../src/marketplace/invoice.ts';
import { Dec } from '../../src/marketplace/money.ts';
import { InvalidArgumentError } from '../../src/marketplace/errors.ts';
import { TIER_IDS } from '../../src/marketplace/tiers.ts';

const base = { invoiceId: 'inv-1', customerId: 'cust-1', period: '2025-03' } as const;

describe('monthly invoices', () => {
  it('bills the 616.00 USD Professional month with line items', () => {
    const invoice = buildMonthlyInvoice({
      ...base,
      tier: 'professional',
      usage: { executions: '150000', compute_gb_hours: '600', transfer_gb: '120', api_calls: '1000000' },
    });
    expect(invoice.lines).toHaveLength(5);
    expect(invoice.subtotal).toBe('616.00');
    expect(invoice.total).toBe('616.00');
    expect(invoice.creditApplied).toBe('0.00');
    expect(invoice.currency).toBe('USD');
  });

  it('adds adjustments (e.g. proration) as lines and applies credit without going negative', () => {
    const invoice = buildMonthlyInvoice({
      ...base,
      tier: 'professional',
      usage: {},
      adjustments: [{ code: 'proration', description: 'Upgrade, 15 days', amount: '12.345' }],
      credit: '150',
    });
    expect(invoice.lines.at(-1)).toMatchObject({ code: 'proration', amount: '12.35' });
    expect(invoice.subtotal).toBe('111.35');
    expect(invoice.creditApplied).toBe('111.35');
    expect(invoice.total).toBe('0.00');
    expect(invoice.creditRemaining).toBe('38.65');
  });

  it('reports Community usage over its hard allowances without billing it', () => {
    const invoice = buildMonthlyInvoice({ ...base, tier: 'community', usage: { executions: 5_000 } });
    expect(invoice.total).toBe('0.00');
    expect(invoice.unbilledOverLimit).toEqual(['executions']);
  });

  it.each([
    [{ invoiceId: 'bad id' }, /invoiceId/],
    [{ customerId: '' }, /customerId/],
    [{ period: '2025-3' }, /period/],
    [{ adjustments: [{ code: 'refund', description: 'x', amount: '-5.00' }] }, /credit/],
    [{ credit: '-1' }, /credit/],
  ])('refuses malformed input %j', (override, message) => {
    expect(() => buildMonthlyInvoice({ ...base, tier: 'professional', usage: {}, ...override })).toThrow(message);
    expect(() => buildMonthlyInvoice({ ...base, tier: 'professional', usage: {}, ...override })).toThrow(InvalidArgumentError);
  });

  it('property: lines sum to the subtotal, credit never makes anything negative', () => {
    const quantity = fc.oneof(
      fc.nat(2_000_000),
      fc.tuple(fc.nat(200_000), fc.nat(999_999)).map(([i, f]) => `${i}.${String(f).padStart(6, '0')}`),
    );
    const amount = fc.tuple(fc.nat(10_000), fc.nat(999)).map(([i, f]) => `${i}.${String(f).padStart(3, '0')}`);
    fc.assert(
      fc.property(
        fc.constantFrom(...TIER_IDS),
        fc.record({ executions: quantity, compute_gb_hours: quantity, transfer_gb: quantity, api_calls: quantity }, { requiredKeys: [] }),
        fc.array(amount, { maxLength: 3 }),
        fc.option(amount, { nil: undefined }),
        (tier, usage, adjustments, credit) => {
          const invoice = buildMonthlyInvoice({
            ...base,
            tier,
            usage,
            adjustments: adjustments.map((a, i) => ({ code: `adj-${i}`, description: 'adjustment', amount: a })),
            credit,
          });
          const lineSum = invoice.lines.reduce((s, l) => s.plus(l.amount), new Dec(0));
          expect(lineSum.toFixed(2)).toBe(invoice.subtotal);
          expect(new Dec(invoice.subtotal).minus(invoice.creditApplied).toFixed(2)).toBe(invoice.total);
          for (const value of [...invoice.lines.map((l) => l.amount), invoice.subtotal, invoice.total, invoice.creditApplied, invoice.creditRemaining]) {
            expect(value).toMatch(/^\d+\.\d{2}$/);
          }
          for (const l of invoice.lines) {
            expect(new Dec(l.quantity).times(l.unitPrice).toDecimalPlaces(2).toFixed(2)).toBe(l.amount);
          }
        },
      ),
    );
  });
});
