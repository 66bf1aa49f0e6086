import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { createReceiptsMachine, verifyReceipts, type ReceiptsContext } from '../../machines/receipts.ts';
import { traverse } from '../support/machine-coverage.ts';
import { signingKeyFromSeed } from '../../src/marketplace/signing-keys.ts';

const KEPT = 2;
const machine = createReceiptsMachine({ pseudonymKey: 'receipts-test-key-0123456789', kept: KEPT, signingKey: signingKeyFromSeed('heads', Buffer.alloc(32, 9)) });

const append = (eventId: string) => ({
  type: 'append',
  eventId,
  customerId: 'c1',
  eventType: 'CustomerSubscribes',
  occurredAt: '2026-01-05T10:00:00Z',
  outcomes: [{ governor: 'Billing', status: 'applied' }],
});

describe('Receipts machine, traversed with xstate/graph', () => {
  const result = traverse(machine, {
    input: { key: 'c1' },
    events: (snapshot: AnyMachineSnapshot) => {
      const c = snapshot.context as ReceiptsContext;
      return [
        append(`e${c.tip.seq + 1}`),
        // A redelivered event after the orchestrator's window: still one receipt.
        append(c.receipts[0]?.entry.eventId ?? 'e0'),
        // An event id that is not a safe id cannot become a receipt: counted, never a crash.
        append('bad id with spaces'),
        { type: 'verify' },
        { type: 'receipts' },
        { type: 'head', at: 1_767_607_200_000 },
      ];
    },
    serializeState: (snapshot) => {
      const c = snapshot.context as ReceiptsContext;
      return JSON.stringify([Math.min(c.tip.seq, KEPT + 2), c.refused > 0]);
    },
    check: (snapshot) => {
      const c = snapshot.context as ReceiptsContext;
      // The kept chain always verifies from its anchor, and ends at the tip.
      expect(verifyReceipts(c)).toMatchObject({ ok: true, length: c.receipts.length });
      expect(c.receipts.length).toBeLessThanOrEqual(KEPT);
      expect(c.receipts.at(-1)?.hash ?? c.anchor.hash).toBe(c.tip.hash);
      expect(new Set(c.receipts.map((r) => r.entry.eventId)).size).toBe(c.receipts.length);
      // No personal data: the customer id appears nowhere in a receipt.
      expect(JSON.stringify(c.receipts)).not.toContain('"c1"');
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
