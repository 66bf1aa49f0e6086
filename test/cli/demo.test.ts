import { describe, expect, it } from 'vitest';
import { governor } from './governor-command.ts';

describe('governor demo', () => {
  it('runs the whole lifecycle step by step and ends with the invoices and the verified receipt chain', () => {
    const run = governor(['demo']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const step of [
      '[1] day 0: subscribe to Professional',
      'usage: 150,000 executions',
      'overage: executions over the quota',
      'renewal: the cycle is invoiced',
      'payment failure: dunning starts',
      'an upgrade while overdue is refused',
      'Billing retries',
      'upgrade to Enterprise with proration',
      'cancellation',
      'retention ends',
    ]) {
      expect(run.stdout).toContain(step);
    }
    expect(run.stdout).toContain('Billing          applied {"standing":"delinquent","billing":"PaymentFailed"}');
    expect(run.stdout).toContain('"proration":"charge 870.00"');
    expect(run.stdout).toContain('Entitlement      rejected: payment overdue');
    expect(run.stdout).toMatch(/Billing=Retry1/);
    expect(run.stdout).toMatch(/Compliance=Erased/);
    expect(run.stdout).toMatch(/Invoices \(Billing\):[\s\S]*inv-1\s+2026-01\s+599\.00\s+yes[\s\S]*inv-2\s+2026-02\s+1869\.00\s+yes/);
    expect(run.stdout).toContain('receipt chain verified: 11 receipts');
    expect(run.stdout).not.toContain('UNEXPECTED');
  });

  it('--json gives the same story as one JSON object: each step with its outcome, the invoices and the verified receipts', () => {
    const run = governor(['demo', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const demo = JSON.parse(run.stdout) as {
      steps: Array<{ title: string; event: { type: string }; outcome: { status: string }; expected: string; states: Record<string, string> }>;
      invoices: Array<{ invoiceId: string; total: string; paid: boolean }>;
      receipts: unknown[];
      verified: { ok: boolean; length: number };
      unexpected: number;
    };
    expect(demo.steps.map((s) => s.outcome.status)).toEqual(demo.steps.map((s) => s.expected));
    const refused = demo.steps.find((s) => s.title.startsWith('an upgrade while overdue'));
    expect(refused).toMatchObject({ event: { type: 'CustomerUpgrades' }, outcome: { status: 'rejected' } });
    expect(demo.steps.at(-1)!.states).toMatchObject({ Subscription: expect.any(String) });
    expect(demo.invoices.map((i) => [i.invoiceId, i.total, i.paid])).toEqual([['inv-1', '599.00', true], ['inv-2', '1869.00', true]]);
    expect(demo.verified).toMatchObject({ ok: true, length: 11 });
    expect(demo.receipts).toHaveLength(11);
    expect(demo.unexpected).toBe(0);
  });

  it('--help describes it', () => {
    const run = governor(['demo', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--export <file>');
  });
});
