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

  it('--help describes it', () => {
    const run = governor(['demo', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--export <file>');
  });
});
