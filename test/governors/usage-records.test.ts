/**
 * Usage idempotency keys and applied payments are records beside the governors' states, not data
 * in them: a key or a payment id is recognised however long ago it was used, and states saved
 * when the data kept them (fixture saved at 659df48) migrate with every one as a record.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { billingGovernor } from '../../machines/governors/billing.ts';
import { migrateGovernorState, type GovernorDefinition } from '../../machines/governors/governor-kit.ts';
import { quotaSlaGovernor } from '../../machines/governors/quota-sla.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { decide, ev, given, recordsOf } from './domain-support.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/usage-v1-states.json', import.meta.url), 'utf8')) as { states: Record<string, PersistedActorState> };
type OldData = { ledger: { totals: unknown; seen: Record<string, string>; previousSeen: Record<string, string> }; payments?: Record<string, string>; invoices?: Array<{ invoiceId: string }> };
const dataOf = (state: PersistedActorState) => (state.snapshot as { context: { data: OldData } }).context.data;

const subscribe = () => ev('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' }, 0);
const usage = (key: string, atDays: number, quantity = 5) => ev('UsageRecorded', { metric: 'executions', quantity, idempotencyKey: key }, atDays);

describe('usage keys and payments as records', () => {
  /** A usage key counted months ago is still recognised, and the data never holds it. */
  const keysRecognised = <S extends string, D>(governor: GovernorDefinition<S, D>) => () => {
    const context = given(governor, [subscribe(), usage('u-1', 1), usage('u-2', 40), usage('u-3', 80)]);
    expect(recordsOf(context).get('usage:u-1')).toBe('executions=5');
    expect(JSON.stringify(context.data)).not.toContain('u-1');
    expect(decide(governor, context, usage('u-1', 100)).decision).toMatchObject({ status: 'not_applicable', reason: expect.stringMatching(/u-1/) });
    expect(decide(governor, context, usage('u-1', 100, 6)).decision).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/first used for executions=5/) });
    // A new key is counted, and its commit writes its record.
    expect(decide(governor, context, usage('u-4', 100)).decision).toMatchObject({ status: 'applied', records: { 'usage:u-4': 'executions=5' } });
  };
  it('QuotaSla: a usage key counted months ago is still recognised, and the data never holds it', keysRecognised(quotaSlaGovernor));
  it('Billing: a usage key counted months ago is still recognised, and the data never holds it', keysRecognised(billingGovernor));

  it('a state of the layout before migrates: its keys of both months and its payments become records, the data keeps none', () => {
    const migrates = <S extends string, D>(kind: 'QuotaSla' | 'Billing', definition: GovernorDefinition<S, D>) => {
      const stored = fixture.states[kind]!;
      const old = dataOf(stored);
      const migrated = migrateGovernorState(stored, definition)!;
      const expected: Record<string, unknown> = {};
      for (const [key, fingerprint] of Object.entries({ ...old.ledger.previousSeen, ...old.ledger.seen })) expected[`usage:${key}`] = fingerprint;
      for (const [paymentId, amount] of Object.entries(old.payments ?? {})) expected[`payment:${paymentId}`] = amount;
      // (Billing's invoices move too: invoice-records.test.ts.)
      for (const invoice of old.invoices ?? []) expected[`invoice:${invoice.invoiceId}`] = invoice;
      expect(Object.keys(expected).length, kind).toBeGreaterThanOrEqual(kind === 'Billing' ? 7 : 5);
      expect(migrated.records, kind).toEqual(expected);
      const data = dataOf(migrated.state) as unknown as Record<string, unknown> & { ledger: object };
      expect(Object.keys(data.ledger).sort(), kind).toEqual(['period', 'totals']);
      expect(data, kind).not.toHaveProperty('payments');
      expect(data.ledger, kind).toMatchObject({ totals: old.ledger.totals });
      // Migrated once: a state of this layout needs none.
      expect(migrateGovernorState(migrated.state, definition), kind).toBeUndefined();
    };
    migrates('QuotaSla', quotaSlaGovernor);
    migrates('Billing', billingGovernor);
  });
});
