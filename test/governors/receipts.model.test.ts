import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { createReceiptsMachine, RECENT_EVENT_IDS, type ReceiptsContext } from '../../machines/receipts.ts';
import { frontierRoot } from '../../src/marketplace/merkle.ts';
import { traverse } from '../support/machine-coverage.ts';
import { signingKeyFromSeed } from '../../src/marketplace/signing-keys.ts';

const machine = createReceiptsMachine({ pseudonymKey: 'receipts-test-key-0123456789', signingKey: signingKeyFromSeed('heads', Buffer.alloc(32, 9)) });

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
        // The same event appended again right after: still one receipt.
        append(c.recent.at(-1) ?? 'e0'),
        // An event id that is not a safe id cannot become a receipt: counted, never a crash.
        append('bad id with spaces'),
        { type: 'verify' },
        { type: 'head', at: 1_767_607_200_000 },
      ];
    },
    serializeState: (snapshot) => {
      const c = snapshot.context as ReceiptsContext;
      return JSON.stringify([Math.min(c.tip.seq, 4), c.refused > 0]);
    },
    check: (snapshot) => {
      const c = snapshot.context as ReceiptsContext;
      // One leaf per receipt, from genesis: the tree's size is the tip's sequence number + 1.
      expect(c.log.size).toBe(c.tip.seq + 1);
      expect(frontierRoot(c.log)).toMatch(/^[0-9a-f]{64}$/);
      expect(c.recent.length).toBeLessThanOrEqual(RECENT_EVENT_IDS);
      expect(new Set(c.recent).size).toBe(c.recent.length);
      // The state keeps no receipts: they are journalled.
      expect(c).not.toHaveProperty('receipts');
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
