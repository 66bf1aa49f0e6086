import { describe, it, expect } from 'vitest';
import * as marketplace from '../../src/marketplace/index.ts';
import {
  appendReceipt,
  buildMonthlyInvoice,
  createUsageLedger,
  eventDigest,
  GENESIS_TIP,
  governorsFor,
  issueLicence,
  LicenceVerifier,
  addPublicKey,
  emptyKeyring,
  generateSigningKey,
  parseLifecycleEventJson,
  pseudonymiseCustomer,
  recordUsage,
  signChainHead,
  tipOf,
  verifyReceiptChain,
  type Receipt,
} from '../../src/marketplace/index.ts';

describe('the public entry point', () => {
  it('exports only defined values', () => {
    for (const [name, value] of Object.entries(marketplace)) expect(value, name).toBeDefined();
  });

  it('carries a month from events to a verified invoice receipt', () => {
    const now = Date.parse('2025-03-31T23:00:00Z');
    const key = generateSigningKey('k1', { random: () => new Uint8Array(32).fill(3) });
    const keyring = addPublicKey(emptyKeyring(), key);

    const licence = issueLicence(
      { id: 'lic-1', organisation: 'Acme', tier: 'professional', seats: 5, issuedAt: now - 86_400_000, expiresAt: now + 86_400_000 },
      key,
    );
    expect(new LicenceVerifier({ keyring, now: () => now }).verify(licence)).toMatchObject({ ok: true, licence: { tier: 'professional' } });

    const lines = [
      { metric: 'executions', quantity: 150_000, id: 'u1' },
      { metric: 'compute_gb_hours', quantity: '600', id: 'u2' },
      { metric: 'transfer_gb', quantity: 120, id: 'u3' },
      { metric: 'api_calls', quantity: 1_000_000, id: 'u4' },
      { metric: 'api_calls', quantity: 1_000_000, id: 'u4' }, // redelivered
    ].map((u, i) =>
      JSON.stringify({
        type: 'UsageRecorded',
        eventId: `evt-${i}`,
        customerId: 'cust-1',
        occurredAt: '2025-03-15T00:00:00Z',
        metric: u.metric,
        quantity: u.quantity,
        idempotencyKey: u.id,
      }),
    );

    let ledger = createUsageLedger('2025-03');
    let tip = GENESIS_TIP;
    const receipts: Receipt[] = [];
    for (const line of lines) {
      const parsed = parseLifecycleEventJson(line);
      if (!parsed.ok || parsed.event.type !== 'UsageRecorded') throw new Error(JSON.stringify(parsed));
      const { event } = parsed;
      expect(governorsFor(event.type)).toEqual(['QuotaSla', 'Billing']);
      const recorded = recordUsage(ledger, event);
      ledger = recorded.ledger;
      const receipt = appendReceipt(tip, {
        eventId: event.eventId,
        customerRef: pseudonymiseCustomer(event.customerId, 'pseudonym-key-0123456789'),
        type: event.type,
        outcomes: [
          { governor: 'QuotaSla', outcome: 'applied' },
          { governor: 'Billing', outcome: recorded.status === 'recorded' ? 'applied' : 'not_applicable', ...(recorded.status === 'duplicate' ? { reasonCode: 'duplicate' } : {}) },
        ],
        payloadDigest: eventDigest(event),
        committedAt: now,
      });
      receipts.push(receipt);
      tip = tipOf(receipt);
    }

    const invoice = buildMonthlyInvoice({ invoiceId: 'inv-2025-03', customerId: 'cust-1', tier: 'professional', period: ledger.period, usage: ledger.totals });
    expect(invoice.total).toBe('616.00');

    const head = signChainHead({ chainId: 'cust-1', tip, signedAt: now }, key);
    expect(verifyReceiptChain(receipts, { head, keyring })).toMatchObject({ ok: true, length: 5 });
  });
});
