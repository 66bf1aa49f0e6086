import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { billingPeriodOf, createUsageLedger, recordUsage, startNewPeriod, type UsageLedger } from '../../src/marketplace/usage-ledger.ts';
import { METRICS } from '../../src/marketplace/pricing.ts';
import { InvalidArgumentError } from '../../src/marketplace/errors.ts';

describe('idempotent usage recording', () => {
  it('counts the same idempotency key once', () => {
    let ledger = createUsageLedger('2025-03');
    const first = recordUsage(ledger, { metric: 'executions', quantity: 10, idempotencyKey: 'u-1' });
    expect(first.status).toBe('recorded');
    ledger = first.ledger;
    const again = recordUsage(ledger, { metric: 'executions', quantity: '10', idempotencyKey: 'u-1' });
    expect(again.status).toBe('duplicate');
    expect(again.ledger.totals.executions).toBe('10');
  });

  it('reports a reused key with different parameters as a conflict and counts nothing', () => {
    const ledger = recordUsage(createUsageLedger('2025-03'), { metric: 'executions', quantity: 10, idempotencyKey: 'u-1' }).ledger;
    const reused = recordUsage(ledger, { metric: 'executions', quantity: 11, idempotencyKey: 'u-1' });
    expect(reused).toMatchObject({ status: 'conflict', message: /executions=10.*executions=11/ });
    expect(reused.ledger).toBe(ledger);
  });

  it('adds decimal quantities exactly', () => {
    let ledger = createUsageLedger('2025-03');
    for (let i = 0; i < 10; i += 1) {
      ledger = recordUsage(ledger, { metric: 'compute_gb_hours', quantity: 0.1, idempotencyKey: `c-${i}` }).ledger;
    }
    expect(ledger.totals.compute_gb_hours).toBe('1');
  });

  it.each([
    [{ metric: 'executions', quantity: 1, idempotencyKey: 'constructor' }, /idempotencyKey/],
    [{ metric: 'executions', quantity: 1, idempotencyKey: '__proto__' }, /idempotencyKey/],
    [{ metric: 'executions', quantity: 1, idempotencyKey: '' }, /idempotencyKey/],
    [{ metric: 'toString', quantity: 1, idempotencyKey: 'k' }, /metric/],
    [{ metric: 'executions', quantity: -1, idempotencyKey: 'k' }, /quantity/],
    [{ metric: 'executions', quantity: Number.NaN, idempotencyKey: 'k' }, /quantity/],
    [{ metric: 'executions', quantity: '1e9', idempotencyKey: 'k' }, /quantity/],
  ])('refuses %j as invalid without touching the ledger', (record, message) => {
    const ledger = createUsageLedger('2025-03');
    const result = recordUsage(ledger, record as never);
    expect(result).toMatchObject({ status: 'invalid', message });
    expect(result.ledger).toBe(ledger);
    expect(Object.getPrototypeOf(ledger.seen)).toBe(Object.prototype);
  });

  it('property: totals equal the sum over distinct keys, whatever the duplicates and order', () => {
    const record = fc.record({
      metric: fc.constantFrom(...METRICS),
      quantity: fc.nat(1_000),
      idempotencyKey: fc.constantFrom(...Array.from({ length: 20 }, (_, i) => `k${i}`)),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 60 }), (records) => {
        // the first use of a key wins; later different uses are conflicts
        const winners = new Map<string, (typeof records)[number]>();
        for (const r of records) if (!winners.has(r.idempotencyKey)) winners.set(r.idempotencyKey, r);
        let ledger: UsageLedger = createUsageLedger('2025-03');
        for (const r of records) ledger = recordUsage(ledger, r).ledger;
        for (const metric of METRICS) {
          const expected = [...winners.values()].filter((r) => r.metric === metric).reduce((s, r) => s + r.quantity, 0);
          expect(ledger.totals[metric]).toBe(String(expected));
        }
      }),
    );
  });
});

describe('monthly reset', () => {
  it('zeroes totals and still recognises last month’s keys', () => {
    const march = recordUsage(createUsageLedger('2025-03'), { metric: 'api_calls', quantity: 5, idempotencyKey: 'late' }).ledger;
    const april = startNewPeriod(march, '2025-04');
    expect(april.period).toBe('2025-04');
    expect(april.totals.api_calls).toBe('0');
    expect(recordUsage(april, { metric: 'api_calls', quantity: 5, idempotencyKey: 'late' }).status).toBe('duplicate');
    const may = startNewPeriod(april, '2025-05');
    expect(recordUsage(may, { metric: 'api_calls', quantity: 5, idempotencyKey: 'late' }).status).toBe('recorded');
  });

  it('is a no-op for the same period and refuses to go back', () => {
    const ledger = createUsageLedger('2025-03');
    expect(startNewPeriod(ledger, '2025-03')).toBe(ledger);
    expect(() => startNewPeriod(ledger, '2025-02')).toThrow(InvalidArgumentError);
    expect(() => createUsageLedger('2025-13')).toThrow(/YYYY-MM/);
  });

  it('derives the period from a UTC time', () => {
    expect(billingPeriodOf(Date.parse('2025-03-31T23:59:59.999Z'))).toBe('2025-03');
    expect(billingPeriodOf(Date.parse('2025-04-01T00:00:00Z'))).toBe('2025-04');
    expect(() => billingPeriodOf(Number.NaN)).toThrow(InvalidArgumentError);
  });
});
