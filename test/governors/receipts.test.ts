import { describe, expect, it } from 'vitest';
import { appendTo, emptyReceipts, summaryOf, verifyReceipts, RECENT_EVENT_IDS, type AppendMessage, type ReceiptsContext } from '../../machines/receipts.ts';
import type { Receipt } from '../../src/marketplace/receipts.ts';
import { verifyReceiptLog } from '../../src/marketplace/receipt-log.ts';
import { addPublicKey, emptyKeyring, signingKeyFromSeed } from '../../src/marketplace/signing-keys.ts';
import { createReceiptsMachine } from '../../machines/receipts.ts';
import { createNode, spawnStatem } from '../../src/index.ts';

const options = { pseudonymKey: 'receipts-test-key-0123456789' };
const message = (eventId: string): AppendMessage => ({
  type: 'append',
  eventId,
  customerId: 'alice@example.com',
  eventType: 'PaymentProcessed',
  occurredAt: '2026-01-05T10:00:00Z',
  committedAt: Date.parse('2026-01-05T10:00:03Z'),
  outcomes: [{ governor: 'Billing', status: 'applied' }],
});

/** Appends as the machine does; the receipts are what it journals. */
function log(ids: string[]): { context: ReceiptsContext; journal: Receipt[] } {
  let context = emptyReceipts('alice@example.com');
  const journal: Receipt[] = [];
  for (const id of ids) {
    const next = appendTo(context, message(id), options);
    context = next.context;
    if (next.receipt) journal.push(next.receipt);
  }
  return { context, journal };
}

describe('the Receipts log', () => {
  it('journals every committed event once, without personal data, and keeps only the tip and the tree’s frontier', () => {
    const { context, journal } = log(['e1', 'e2', 'e1']);
    expect(journal.map((r) => r.entry.eventId)).toEqual(['e1', 'e2']);
    expect(verifyReceipts(context, journal)).toMatchObject({ ok: true, length: 2, complete: true });
    expect(JSON.stringify(journal)).not.toContain('alice');
    expect(Object.keys(context).sort()).toEqual(['customerId', 'firstSeq', 'lastRefusal', 'log', 'recent', 'refused', 'tip', 'v']);
  });

  it('its state stays O(log n): 3,000 appends leave a frontier of at most 12 nodes and a bounded id window', () => {
    const { context, journal } = log(Array.from({ length: 3_000 }, (_, i) => `e${i}`));
    expect(journal).toHaveLength(3_000);
    expect(context.log.size).toBe(3_000);
    expect(context.log.nodes.length).toBeLessThanOrEqual(12);
    expect(context.recent).toHaveLength(RECENT_EVENT_IDS);
    expect(JSON.stringify(context).length).toBeLessThan(2_500);
    // Every receipt, from genesis, is in the journal and verifies against the state’s root.
    expect(verifyReceipts(context, journal)).toMatchObject({ ok: true, length: 3_000, firstSeq: 0, complete: true });
  });

  it('commits to the whole event: another amount is another digest, and the customer id is only its pseudonym', () => {
    const payment = (amount: string) => ({ type: 'PaymentProcessed', eventId: 'e1', customerId: 'alice@example.com', occurredAt: '2026-01-05T10:00:00Z', amount, currency: 'USD', paymentId: 'p1' });
    const receiptOf = (amount: string) => appendTo(emptyReceipts('alice@example.com'), { ...message('e1'), event: payment(amount) }, options).receipt!;
    const small = receiptOf('5.00');
    expect(small.entry.payloadDigest).not.toBe(receiptOf('500000.00').entry.payloadDigest);
    expect(receiptOf('5.00').entry.payloadDigest).toBe(small.entry.payloadDigest);
    // Without the event (a message from before it was sent), the digest covers what the message has.
    expect(appendTo(emptyReceipts('alice@example.com'), message('e1'), options).receipt!.entry.payloadDigest).not.toBe(small.entry.payloadDigest);
    expect(JSON.stringify(small)).not.toContain('alice');
  });

  it("carries the orchestrator's commit time, not the producer's occurredAt", () => {
    expect(log(['e1']).journal[0]!.entry.committedAt).toBe(Date.parse('2026-01-05T10:00:03Z'));
  });

  it('a journal that lost, reordered or changed a receipt does not verify against the state', () => {
    const { context, journal } = log(['e1', 'e2', 'e3']);
    expect(verifyReceipts(context, journal.slice(1))).toMatchObject({ ok: false, kind: 'deleted' });
    expect(verifyReceipts(context, journal.slice(0, 2))).toMatchObject({ ok: false, kind: 'truncated' });
    expect(verifyReceipts(context, journal.map((r, i) => (i === 1 ? { ...r, entry: { ...r.entry, type: 'CustomerCancels' } } : r)))).toMatchObject({ ok: false, position: 1, kind: 'edited' });
  });

  it('refuses an entry that cannot be a receipt without crashing, and counts it', () => {
    const { context, journal } = log(['not a safe id']);
    expect([journal.length, context.refused]).toEqual([0, 1]);
    expect(context.lastRefusal).toMatch(/eventId/);
  });

  it('answers verify with its log and signs v2 tree heads that the journal’s receipts verify against', async () => {
    const key = signingKeyFromSeed('heads', Buffer.alloc(32, 9));
    const node = createNode();
    const journal: unknown[] = [];
    const pid = spawnStatem(node, createReceiptsMachine({ ...options, signingKey: key }), {
      input: { key: 'alice@example.com' },
      afterStep: (process) => journal.push(...(process.persistForCommit().journal ?? [])),
    });
    expect(await node.call(pid, { type: 'head', at: 1 })).toMatchObject({ error: expect.stringMatching(/empty/) });
    for (const id of ['e1', 'e2', 'e3']) node.cast(pid, { ...message(id) });
    const head = await node.call(pid, { type: 'head', at: 1_767_607_200_000 });
    const summary = await node.call<ReturnType<typeof summaryOf>>(pid, { type: 'verify' });
    expect(summary).toMatchObject({ treeSize: 3, firstSeq: 0, complete: true, refused: 0 });
    const keyring = addPublicKey(emptyKeyring(), key);
    expect(head).toMatchObject({ v: 2, treeSize: 3, rootHash: summary.rootHash, kid: 'heads' });
    expect(JSON.stringify(head)).not.toContain('alice');
    expect(journal).toHaveLength(3);
    expect(verifyReceiptLog(journal, head, keyring)).toMatchObject({ ok: true, length: 3, complete: true });
    expect(verifyReceiptLog(journal.slice(1), head, keyring)).toMatchObject({ ok: false, kind: 'deleted' });
  });
});
